using System.Text;

namespace Nanobox.Lab;

/// <summary>
/// Network faults between hosts, made with nftables inside the host namespaces only, in the lab's own
/// table `inet lab_faults` (the product owns `inet nanobox`; a drop in any base chain is final, so ours
/// wins whatever the product accepts). Faults drop on ingress, at prerouting before conntrack, so
/// senders see silent loss like on a real network rather than EPERM from a local drop. The desired
/// state is kept here and each affected host's table is re-rendered whole and loaded atomically, so
/// overlapping faults (a cut plus an isolation) compose and undo independently.
/// </summary>
internal sealed class Faults(IReadOnlyList<LabHost> hosts)
{
    public const string Table = "lab_faults";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<(string, string)> _cuts = [];
    private readonly HashSet<string> _isolated = [];
    private readonly Dictionary<string, int> _loss = [];

    public Task CutAsync(LabHost a, LabHost b, bool cut, CancellationToken ct) =>
        ChangeAsync([a, b], () =>
        {
            if (a == b)
            {
                throw new ArgumentException("cannot cut a host from itself");
            }

            var pair = Pair(a, b);
            _ = cut ? _cuts.Add(pair) : _cuts.Remove(pair);
        }, ct);

    /// <summary>An isolated host drops all it receives and every other host drops what it sends.</summary>
    public Task IsolateAsync(LabHost host, bool isolate, CancellationToken ct) =>
        ChangeAsync(hosts, () => _ = isolate ? _isolated.Add(host.Name) : _isolated.Remove(host.Name), ct);

    public Task SetLossAsync(LabHost host, int percent, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        return ChangeAsync([host], () =>
        {
            if (percent == 0)
            {
                _loss.Remove(host.Name);
            }
            else
            {
                _loss[host.Name] = percent;
            }
        }, ct);
    }

    private async Task ChangeAsync(IReadOnlyList<LabHost> affected, Action change, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        var (cuts, isolated, loss) = (_cuts.ToList(), _isolated.ToList(), _loss.ToList());
        try
        {
            change();
            foreach (var host in affected)
            {
                var result = await Netns.RunAsync(host.Namespace, Tools.Nft, ["-f", "-"], TimeSpan.FromSeconds(30), ct,
                    stdin: (s, t) => s.WriteAsync(Encoding.UTF8.GetBytes(Render(host)), t).AsTask());
                if (result.ExitCode != 0)
                {
                    throw new LabException($"nft in {host.Name} failed: {result.Stderr.Trim()}\nruleset:\n{Render(host)}");
                }
            }
        }
        catch
        {
            // Keep the model equal to what the kernel has: a failed change is no change (hosts already
            // re-rendered keep the new rules until the next change re-renders them).
            _cuts.Clear();
            _isolated.Clear();
            _loss.Clear();
            _cuts.UnionWith(cuts);
            _isolated.UnionWith(isolated);
            loss.ForEach(kv => _loss[kv.Key] = kv.Value);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The whole table for one host; with no fault the table is removed, leaving the namespace clean.</summary>
    internal string Render(LabHost host)
    {
        var rules = new List<string>();
        if (_isolated.Contains(host.Name))
        {
            rules.Add($"iifname \"{LabNetwork.HostInterface}\" drop");
        }

        foreach (var peer in hosts.Where(p => p != host && IsBlocked(host, p)))
        {
            // By MAC as well as by address: that also stops link-local IPv6 from the peer.
            rules.Add($"ether saddr {peer.Mac} drop");
            rules.Add($"ip saddr {peer.Address} drop");
            rules.Add($"ip6 saddr {peer.Address6} drop");
        }

        if (_loss.TryGetValue(host.Name, out var percent))
        {
            // numgen mod 100 yields 0..99, so "< 100" is out of nft's range: 100% is a plain drop.
            rules.Add(percent == 100
                ? $"iifname \"{LabNetwork.HostInterface}\" drop"
                : $"iifname \"{LabNetwork.HostInterface}\" numgen random mod 100 < {percent} drop");
        }

        // Declaring the table first makes the delete succeed whether or not it existed.
        var text = new StringBuilder($"table inet {Table} {{}}\ndelete table inet {Table}\n");
        if (rules.Count > 0)
        {
            text.Append($"table inet {Table} {{\n  chain ingress {{\n    type filter hook prerouting priority -300; policy accept;\n");
            rules.ForEach(r => text.Append($"    {r}\n"));
            text.Append("  }\n}\n");
        }

        return text.ToString();
    }

    private bool IsBlocked(LabHost a, LabHost b) =>
        _cuts.Contains(Pair(a, b)) || _isolated.Contains(a.Name) || _isolated.Contains(b.Name);

    private static (string, string) Pair(LabHost a, LabHost b) =>
        string.CompareOrdinal(a.Name, b.Name) < 0 ? (a.Name, b.Name) : (b.Name, a.Name);
}
