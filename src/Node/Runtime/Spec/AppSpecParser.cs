using System.Collections.Immutable;
using System.Text;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>
/// Reads an app spec file (YAML) into an <see cref="AppSpec"/>, or reports every error in it at once,
/// each with its key path, line, column and fix. Nothing is half-accepted: one error, no spec.
/// </summary>
public static class AppSpecParser
{
    public const string AppKey = "app";
    public const int MaxComponents = 64;

    /// <exception cref="ArgumentException"><paramref name="policy"/> is invalid.</exception>
    public static AppSpecResult Parse(string yaml, AppSpecPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        var errors = new SpecErrors();
        var start = new SourcePosition(1, 1);
        var size = Encoding.UTF8.GetByteCount(yaml);
        if (size > policy.MaxBytes)
        {
            errors.Add("", start, $"the file is {SpecFormats.FormatBytes(size)}, above the limit of {SpecFormats.FormatBytes(policy.MaxBytes)}",
                "a spec describes one app; split it, or remove what is not spec (large env values belong in the image)");
            return AppSpecResult.Invalid(errors.All);
        }

        // A byte order mark is allowed at the start of a YAML stream; a string read without decoding keeps it.
        var root = SpecYamlReader.Read(yaml.StartsWith('\uFEFF') ? yaml[1..] : yaml, errors);
        if (root is null or SpecScalar { IsNull: true })
        {
            if (!errors.Any)
                errors.Add("", start, "the file is empty", "start with app: NAME and add a component, e.g. web.main: { image: busybox:1.36 }");
            return AppSpecResult.Invalid(errors.All);
        }

        var spec = ReadApp(root, new SpecValueReader(errors), policy);
        return errors.Any || spec is null ? AppSpecResult.Invalid(errors.All) : AppSpecResult.Valid(spec);
    }

    private static AppSpec? ReadApp(SpecNode root, SpecValueReader reader, AppSpecPolicy policy)
    {
        if (reader.Map(root, "", "a mapping with app: NAME and components such as web.main") is not { } map)
            return null;
        string? app = null;
        var components = ImmutableSortedDictionary.CreateBuilder<string, ComponentSpec>(StringComparer.Ordinal);
        var componentReader = new ComponentSpecReader(reader, policy);
        foreach (var entry in map.Entries)
        {
            if (entry.Key == AppKey)
                app = ReadName(reader, entry.Value, AppKey, "the app's name");
            else if (ComponentKey(reader, entry) is { } key && componentReader.Read(key.Kind, key.Name, entry) is { } component)
                components.Add(component.Id, component);
        }

        if (!map.Entries.Any(static e => e.Key == AppKey))
            reader.Refuse(AppKey, map.Position, "is missing", "add app: NAME as the first line");
        var componentKeys = map.Entries.Count(static e => e.Key != AppKey);
        if (componentKeys == 0)
            reader.Refuse("", map.Position, "the app has no components", "add one, e.g. web.main: { image: busybox:1.36 }");
        if (componentKeys > MaxComponents)
            reader.Refuse("", map.Position, $"the app has {componentKeys} components", $"give at most {MaxComponents}; split it into several apps");
        return app is null ? null : new AppSpec(app, components.ToImmutable());
    }

    private static string? ReadName(SpecValueReader reader, SpecNode node, string path, string what)
    {
        if (reader.Text(node, path, what) is not { } name)
            return null;
        if (SpecFormats.Name().IsMatch(name))
            return name;
        reader.Refuse(path, node.Position, $"{name} is not a valid name", $"use {SpecFormats.NameRule}");
        return null;
    }

    /// <summary>Splits a top-level key <c>kind.name</c>; reports keys that are neither <c>app</c> nor a component.</summary>
    private static (ComponentKind Kind, string Name)? ComponentKey(SpecValueReader reader, SpecEntry entry)
    {
        var kinds = Enum.GetValues<ComponentKind>().Select(ComponentSpec.KindName).ToList();
        var kindList = string.Join(", ", kinds);
        var dot = entry.Key.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            var fix = kinds.Contains(entry.Key)
                ? $"name the component: {entry.Key}.NAME, e.g. {entry.Key}.main"
                : KeySuggestion.Closest(entry.Key, [AppKey]) is { } app
                    ? $"did you mean {app}?"
                    : $"top-level keys are app and components named KIND.NAME (kinds: {kindList}), e.g. web.main";
            reader.Refuse(entry.Key, entry.KeyPosition, kinds.Contains(entry.Key) ? "is a kind without a component name" : "is not a known key", fix);
            return null;
        }

        var kindText = entry.Key[..dot];
        var name = entry.Key[(dot + 1)..];
        var kindIndex = kinds.IndexOf(kindText);
        if (kindIndex < 0)
        {
            var closest = KeySuggestion.Closest(kindText, kinds);
            reader.Refuse(entry.Key, entry.KeyPosition, $"{kindText} is not a component kind",
                closest is null ? $"kinds are {kindList}" : $"did you mean {closest}.{name}? kinds are {kindList}");
            return null;
        }

        if (!SpecFormats.Name().IsMatch(name))
        {
            reader.Refuse(entry.Key, entry.KeyPosition, $"the component name {name} is not valid", $"use {SpecFormats.NameRule}");
            return null;
        }

        return (Enum.GetValues<ComponentKind>()[kindIndex], name);
    }
}
