using System.Text.RegularExpressions;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// Which image references and container names a node accepts from a member or an operator: the engine's
/// own grammar (<c>[registry[:port]/]path[:tag][@sha256:digest]</c>, or an image id), bounded, so nothing
/// else ever reaches the engine's API paths.
/// </summary>
internal static partial class ImageNames
{
    private const int MaxLength = 512;

    // distribution/reference (\z, not $: $ also matches before a final newline): domain components, lower-case path components joined by separators, a tag, a sha256 digest.
    [GeneratedRegex(@"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?\z")]
    private static partial Regex Reference();

    // The engine's container name rule.
    [GeneratedRegex(@"^[a-zA-Z0-9][a-zA-Z0-9_.-]*\z")]
    private static partial Regex ContainerName();

    /// <summary>Null when <paramref name="reference"/> is an image reference or id the engine would take; else why not.</summary>
    public static string? Refusal(string? reference) =>
        reference is null or "" ? "no image was given"
        : reference.Length > MaxLength ? $"an image reference of {reference.Length} characters is too long (at most {MaxLength})"
        : ImageReferences.IsImageId(reference) || Reference().IsMatch(reference) ? null
        : $"'{reference}' is not an image reference: give REPOSITORY[:TAG], REPOSITORY@sha256:DIGEST or an image id sha256:ID";

    /// <summary>An image id, or a reference pinned by a sha256 digest.</summary>
    public static bool IsPin(string? reference) =>
        Refusal(reference) is null && (ImageReferences.IsImageId(reference!) || ImageReferences.IsDigestPinned(reference!));

    /// <summary>Null when <paramref name="name"/> could be a container name; else why not.</summary>
    public static string? ContainerRefusal(string? name) =>
        name is { Length: > 0 and <= 255 } && ContainerName().IsMatch(name)
            ? null
            : $"'{Clip(name)}' is not a container name (letters, digits, '_', '.', '-'; at most 255)";

    private static string Clip(string? text) => text is null ? "" : text.Length > 64 ? text[..64] + "..." : text;
}
