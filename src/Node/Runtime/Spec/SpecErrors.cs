namespace Nanobox.Node.Runtime.Spec;

/// <summary>Collects every error of one parse, so the operator sees them all at once.</summary>
internal sealed class SpecErrors
{
    private readonly List<AppSpecError> errors = [];

    public bool Any => errors.Count > 0;

    public IReadOnlyList<AppSpecError> All => errors;

    public void Add(string path, SourcePosition at, string problem, string fix) =>
        errors.Add(new AppSpecError(path, at.Line, at.Column, problem, fix));
}

internal static class SpecPath
{
    public static string Join(string parent, string key) => parent.Length == 0 ? key : $"{parent}.{key}";
}
