using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Security;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>What one member said when asked for an image.</summary>
internal enum PeerAnswerKind
{
    Has,
    Lacks,
    Unreachable,
    Refused,

    /// <summary>It answered with an error (its engine is down, say).</summary>
    Failed,

    /// <summary>It has the image, but sending it failed.</summary>
    CopyFailed,
}

/// <param name="Image">What the member holds, when <see cref="Kind"/> is <see cref="PeerAnswerKind.Has"/>.</param>
/// <param name="Reason">Why it could not answer (or, having it, could not send it).</param>
internal sealed record PeerAnswer(ClusterMember Member, PeerAnswerKind Kind, PeerImage? Image = null, string? Reason = null)
{
    public static PeerAnswer FromFailure(ClusterMember member, Exception failure) => failure switch
    {
        PeerRefusedException => new(member, PeerAnswerKind.Refused, Reason: failure.Message),
        IOException or TimeoutException => new(member, PeerAnswerKind.Unreachable, Reason: failure.Message),
        // Remote errors arrive as "NAME: what it said".
        _ => new(member, PeerAnswerKind.Failed, Reason: failure.Message.StartsWith($"{member.Name}: ", StringComparison.Ordinal) ? failure.Message[(member.Name.Length + 2)..] : failure.Message),
    };
}

/// <summary>
/// Where an image was looked for and what each place said, turned into the message of an
/// <see cref="ImageUnavailableException"/>: "image X is not in this node's engine, not on h2, h3
/// (h4 unreachable: ...), and no registry answered: ...". Pure, so the wording is unit-tested.
/// </summary>
internal sealed record ImageSearch(string Image, string? LocalProblem, IReadOnlyList<PeerAnswer>? Peers)
{
    /// <summary>Members that hold the image.</summary>
    public IEnumerable<PeerAnswer> Holders => (Peers ?? []).Where(p => p.Kind == PeerAnswerKind.Has);

    /// <summary>The pins the holders gave, each with who gave it.</summary>
    public IReadOnlyList<IGrouping<string, PeerAnswer>> PinsFound => [.. Holders.GroupBy(p => p.Image!.Pin)];

    public ImageSearch WithCopyFailure(ClusterMember member, Exception failure) =>
        this with { Peers = [.. (Peers ?? []).Select(p => p.Member.NodeId == member.NodeId ? p with { Kind = PeerAnswerKind.CopyFailed, Reason = failure.Message } : p)] };

    /// <param name="registry">What the registry said: "no registry answered: ...", "an image id cannot be pulled from a registry".</param>
    public string Describe(string registry) =>
        $"image {Image} is {(LocalProblem is null ? "not in this node's engine" : $"not available here ({LocalProblem})")}, {DescribePeers()}, and {registry}";

    /// <summary>When the holders disagree on what a tag means, no pin is chosen for the operator.</summary>
    public string DescribeAmbiguity() =>
        $"image {Image} names different images on different nodes ({string.Join("; ", PinsFound.Select(g => $"{g.Key} on {Names(g)}"))}): give the pin of the one to use";

    private string DescribePeers()
    {
        if (Peers is null)
        {
            return "this node is in no cluster, so no peer was asked";
        }

        if (Peers.Count == 0)
        {
            return "there is no other member to ask";
        }

        var lacking = Peers.Where(p => p.Kind == PeerAnswerKind.Lacks).ToList();
        var problems = Peers.Where(p => p.Kind is not (PeerAnswerKind.Lacks or PeerAnswerKind.Has)).Select(p => p.Kind switch
        {
            PeerAnswerKind.Unreachable => $"{p.Member.Name} unreachable: {p.Reason}",
            PeerAnswerKind.Refused => $"{p.Member.Name} refused this node: {p.Reason}",
            PeerAnswerKind.CopyFailed => $"{p.Member.Name} has it but the copy failed: {p.Reason}",
            _ => $"{p.Member.Name} could not answer: {p.Reason}",
        }).ToList();
        var text = lacking.Count > 0 ? $"not on {Names(lacking)}" : "not on any other member";
        return problems.Count > 0 ? $"{text} ({string.Join("; ", problems)})" : text;
    }

    private static string Names(IEnumerable<PeerAnswer> answers) => string.Join(", ", answers.Select(a => a.Member.Name));
}
