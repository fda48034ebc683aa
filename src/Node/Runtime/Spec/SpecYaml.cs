using System.Collections.Immutable;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>Where a node starts in the source: 1-based line and column.</summary>
internal readonly record struct SourcePosition(int Line, int Column);

/// <summary>
/// A spec file as a small tree of strings with positions: the only YAML the validator sees. Every
/// scalar keeps its source text (no YAML type resolution), so `yes` stays "yes" and `0755` stays "0755".
/// </summary>
internal abstract record SpecNode(SourcePosition Position);

/// <param name="IsPlain">Written without quotes: only plain scalars can be numbers or null.</param>
internal sealed record SpecScalar(SourcePosition Position, string Text, bool IsPlain) : SpecNode(Position)
{
    /// <summary>YAML's null: an empty plain value, `~` or `null`.</summary>
    public bool IsNull => IsPlain && Text is "" or "~" or "null" or "Null" or "NULL";
}

internal sealed record SpecList(SourcePosition Position, ImmutableArray<SpecNode> Items) : SpecNode(Position);

/// <summary>A mapping; its keys are unique (a repeated key is reported and its value dropped).</summary>
internal sealed record SpecMap(SourcePosition Position, ImmutableArray<SpecEntry> Entries) : SpecNode(Position);

/// <summary>A node the reader already refused (an alias): validators skip it silently.</summary>
internal sealed record SpecRefused(SourcePosition Position) : SpecNode(Position);

internal sealed record SpecEntry(string Key, SourcePosition KeyPosition, SpecNode Value);

/// <summary>
/// Reads YAML into a <see cref="SpecNode"/> tree through YamlDotNet's event parser (no reflection, so
/// AOT-clean). Refuses, with positions: duplicate keys (YAML says keys are unique; last-wins would hide
/// a mistake), anchors and aliases (they expand to any size and blur which line a value came from),
/// tags (they change types behind the reader's back), non-scalar keys, more than one document, and
/// nesting deeper than any spec needs.
/// </summary>
internal sealed class SpecYamlReader
{
    /// <summary>A spec nests four levels (component, resources, key, value); deeper is a mistake or an attack.</summary>
    public const int MaxDepth = 8;

    private readonly string text;
    private readonly IParser parser;
    private readonly SpecErrors errors;

    private SpecYamlReader(string text, SpecErrors errors)
    {
        this.text = text;
        parser = new Parser(new StringReader(text));
        this.errors = errors;
    }

    /// <returns>The document's root; null for a file without a document, or after a syntax error (reported).</returns>
    public static SpecNode? Read(string text, SpecErrors errors) => new SpecYamlReader(text, errors).ReadStream();

    private SpecNode? ReadStream()
    {
        try
        {
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
                return null;
            parser.Consume<DocumentStart>();
            var root = ReadNode("", 0);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
                errors.Add("", At(second.Start), "a second YAML document starts here", "keep one app per file");
            return root;
        }
        catch (YamlException e)
        {
            errors.Add("", SyntaxErrorPosition(e), $"the YAML is not valid: {SyntaxProblem(e)}", "fix the syntax at this point");
            return null;
        }
        catch (NestingTooDeep)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this on some broken flow collections (e.g. "[1, 2" then a new key).
            var after = parser.Current is { } last ? At(last.End) : new SourcePosition(1, 1);
            errors.Add("", after, "the YAML is not valid after this point", "check for an unclosed [ or { and fix the syntax");
            return null;
        }
    }

    /// <summary>
    /// Where to point for a syntax error: YamlDotNet's start mark, except for a tab in indentation, which
    /// it reports at the scalar before it; the first line indented with a tab is where the fix goes.
    /// </summary>
    private SourcePosition SyntaxErrorPosition(YamlException e)
    {
        if (!e.Message.Contains("tab", StringComparison.Ordinal))
            return At(e.Start);
        var lines = text.Split('\n');
        var tabbed = Array.FindIndex(lines, static l => l.TrimStart(' ').StartsWith('\t'));
        return tabbed < 0 ? At(e.Start) : new SourcePosition(tabbed + 1, lines[tabbed].IndexOf('\t', StringComparison.Ordinal) + 1);
    }

    private SpecNode ReadNode(string path, int depth)
    {
        var next = parser.Consume<ParsingEvent>();
        var position = At(next.Start);
        if (next is AnchorAlias alias)
        {
            errors.Add(path, position, $"uses the alias *{alias.Value}", "write the value out: anchors and aliases are not accepted");
            return new SpecRefused(position);
        }

        if (next is not NodeEvent node)
            throw new YamlException(next.Start, next.End, $"expected a value, found {next.GetType().Name}");

        if (!node.Anchor.IsEmpty)
            errors.Add(path, position, $"defines the anchor &{node.Anchor}", "remove it: anchors and aliases are not accepted");
        if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific)
            errors.Add(path, position, $"has the tag {node.Tag}", "remove it: tags are not accepted; values are read as written");

        if (node is Scalar scalar)
            return new SpecScalar(position, scalar.Value, scalar.Style == ScalarStyle.Plain);

        if (depth == MaxDepth)
        {
            // Stop reading at once: YamlDotNet's scanner slows down quadratically with flow nesting,
            // so skipping the rest of "[[[[..." would let a small file burn a CPU for a minute.
            errors.Add(path, position, $"nests deeper than {MaxDepth} levels", "flatten it: no spec key takes values this deep");
            throw new NestingTooDeep();
        }

        return node is SequenceStart ? ReadList(path, position, depth) : ReadMap(path, position, depth);
    }

    private SpecList ReadList(string path, SourcePosition position, int depth)
    {
        var items = ImmutableArray.CreateBuilder<SpecNode>();
        while (!parser.TryConsume<SequenceEnd>(out _))
            items.Add(ReadNode($"{path}[{items.Count}]", depth + 1));
        return new SpecList(position, items.ToImmutable());
    }

    private SpecMap ReadMap(string path, SourcePosition position, int depth)
    {
        var entries = ImmutableArray.CreateBuilder<SpecEntry>();
        var firstLines = new Dictionary<string, int>(StringComparer.Ordinal);
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var keyStart = At(parser.Current!.Start);
            var keyNode = ReadNode(path, depth + 1);
            var key = keyNode as SpecScalar;
            if (key is null && keyNode is not SpecRefused)
                errors.Add(path, keyStart, "has a list or a mapping as a key", "keys are plain names such as image or web.main");
            var keyPath = SpecPath.Join(path, key?.Text ?? "?");
            var value = ReadNode(keyPath, depth + 1);
            if (key is null)
                continue;
            if (firstLines.TryGetValue(key.Text, out var firstLine))
            {
                errors.Add(keyPath, keyStart, $"is given twice (first on line {firstLine})", "keep one of them");
                continue;
            }

            firstLines.Add(key.Text, keyStart.Line);
            entries.Add(new SpecEntry(key.Text, keyStart, value));
        }

        return new SpecMap(position, entries.ToImmutable());
    }

    private static SourcePosition At(Mark mark) => new(ClampToInt(mark.Line), ClampToInt(mark.Column));

    private static int ClampToInt(long value) => (int)Math.Clamp(value, 1, int.MaxValue);

    /// <summary>Ends the read after the nesting error is reported.</summary>
    private sealed class NestingTooDeep : Exception;

    /// <summary>YamlDotNet prefixes messages with "(Line: x, Col: y, Idx: z) - (...): "; the error already says where.</summary>
    private static string SyntaxProblem(YamlException e)
    {
        var message = e.InnerException is YamlException inner ? inner.Message : e.Message;
        var cut = message.LastIndexOf("): ", StringComparison.Ordinal);
        return (cut >= 0 ? message[(cut + 3)..] : message).TrimEnd('.');
    }
}
