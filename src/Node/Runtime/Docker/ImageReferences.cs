using System.Text.RegularExpressions;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>Reads image references the way the engine does: <c>[registry[:port]/]path[:tag][@digest]</c>, or a bare image id.</summary>
internal static partial class ImageReferences
{
    // \z, not $: $ also matches before a final newline.
    [GeneratedRegex(@"^sha256:[0-9a-f]{64}\z")]
    private static partial Regex ImageId();

    public static bool IsImageId(string reference) => ImageId().IsMatch(reference);

    public static bool IsDigestPinned(string reference) => reference.Contains("@sha256:", StringComparison.Ordinal);

    /// <summary>The repository part: no tag, no digest (a registry's port is not a tag).</summary>
    public static string Repository(string reference) => Split(reference).Repository;

    /// <summary>The pull request's two halves: repository and tag or digest (<c>latest</c> when neither is given).</summary>
    public static (string Repository, string TagOrDigest) Split(string reference)
    {
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            var named = reference[..at];
            var colon = named.LastIndexOf(':');
            return (colon > named.LastIndexOf('/') ? named[..colon] : named, reference[(at + 1)..]);
        }

        var tag = reference.LastIndexOf(':');
        return tag > reference.LastIndexOf('/') ? (reference[..tag], reference[(tag + 1)..]) : (reference, "latest");
    }
}
