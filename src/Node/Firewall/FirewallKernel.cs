using System.Net;
using System.Text.Json;

namespace Nanobox.Node.Firewall;

/// <summary>What the kernel holds of our table, read back as libnftables JSON.</summary>
/// <param name="InputPolicy">The input chain's policy ("drop"), or null when the chain is missing.</param>
/// <param name="Comments">The comments of the input chain's rules, in order.</param>
public sealed record KernelTable(string? InputPolicy, IReadOnlyList<string> Comments, PeerAddresses Peers);

/// <summary>
/// The firewall's only contact with the kernel: runs rendered transactions on the `inet nanobox` table
/// and reads it back. Serialises calls on its one libnftables context.
/// </summary>
public sealed class FirewallKernel : IDisposable
{
    // A leaf lock, taken under the firewall manager's gate: only libnftables runs under it.
    private readonly Lock _gate = new();
    private readonly Nftables _nft;

    public FirewallKernel() => _nft = Nftables.Open();

    /// <exception cref="FirewallException">The kernel refused the transaction; nothing changed.</exception>
    public void Run(string transaction)
    {
        lock (_gate)
        {
            _nft.Run(transaction);
        }
    }

    /// <summary>Validates a transaction against the kernel without committing it.</summary>
    public void Check(string transaction)
    {
        lock (_gate)
        {
            _nft.Check(transaction);
        }
    }

    public void RemoveTable() => Run(RulesetRenderer.RenderRemoval());

    /// <summary>The table as the kernel holds it, or null when there is none.</summary>
    public KernelTable? Read()
    {
        string json;
        lock (_gate)
        {
            if (!HasTable())
            {
                return null;
            }

            json = _nft.RunJson($"list table {RulesetRenderer.Table}");
        }

        return Parse(json);
    }

    /// <summary>The table as text (`nft list table inet nanobox`), for `firewall show --kernel`-style diagnostics; null when there is none.</summary>
    public string? ReadText()
    {
        lock (_gate)
        {
            return HasTable() ? _nft.Run($"list table {RulesetRenderer.Table}") : null;
        }
    }

    private bool HasTable()
    {
        using var tables = JsonDocument.Parse(_nft.RunJson("list tables"));
        return Items(tables.RootElement, "table").Any(t => Text(t, "family") == "inet" && Text(t, "name") == "nanobox");
    }

    /// <summary>Reads the parts commit-confirm and `firewall show` rely on out of `list table` JSON.</summary>
    public static KernelTable Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var input = Items(root, "chain").FirstOrDefault(c => Text(c, "name") == "input");
        var comments = Items(root, "rule")
            .Where(r => Text(r, "chain") == "input")
            .Select(r => Text(r, "comment") ?? "")
            .ToList();
        var addresses = Items(root, "set")
            .Where(s => Text(s, "name") is RulesetRenderer.Peers4 or RulesetRenderer.Peers6)
            .SelectMany(s => s.TryGetProperty("elem", out var elements) ? elements.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : null) : [])
            .Select(a => IPAddress.TryParse(a, out var parsed) ? parsed : null)
            .OfType<IPAddress>();
        return new KernelTable(input.ValueKind == JsonValueKind.Object ? Text(input, "policy") : null, comments, new PeerAddresses(addresses));
    }

    private static IEnumerable<JsonElement> Items(JsonElement root, string kind) =>
        root.TryGetProperty("nftables", out var items)
            ? items.EnumerateArray().Where(i => i.TryGetProperty(kind, out _)).Select(i => i.GetProperty(kind)).ToList()
            : [];

    private static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public void Dispose() => _nft.Dispose();
}
