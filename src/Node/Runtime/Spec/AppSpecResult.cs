using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>One thing wrong with a spec file: where, what, and how to fix it.</summary>
/// <param name="Path">The key path, e.g. <c>web.main.resources.memory</c>; empty for the file as a whole.</param>
/// <param name="Line">1-based line of the offending key or value.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Problem">What is wrong, e.g. <c>0 is out of range</c>.</param>
/// <param name="Fix">What to do, e.g. <c>give 1 to 64</c>.</param>
public sealed record AppSpecError(string Path, int Line, int Column, string Problem, string Fix)
{
    /// <summary><c>line 7: web.main.replicas: 0 is out of range; give 1 to 64</c></summary>
    public override string ToString() =>
        Path.Length == 0 ? $"line {Line}: {Problem}; {Fix}" : $"line {Line}: {Path}: {Problem}; {Fix}";
}

/// <summary>Either a valid <see cref="AppSpec"/> or every error found, in source order.</summary>
public sealed record AppSpecResult
{
    private AppSpecResult(AppSpec? spec, ImmutableArray<AppSpecError> errors)
    {
        Spec = spec;
        Errors = errors;
    }

    public AppSpec? Spec { get; }

    public ImmutableArray<AppSpecError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Spec))]
    public bool IsValid => Spec is not null;

    internal static AppSpecResult Valid(AppSpec spec) => new(spec, ImmutableArray<AppSpecError>.Empty);

    internal static AppSpecResult Invalid(IEnumerable<AppSpecError> errors) =>
        new(null, [.. errors.OrderBy(static e => e.Line).ThenBy(static e => e.Column)]);
}
