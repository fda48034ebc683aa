using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Admin;

/// <summary>GET /v1/status. Field names are part of the CLI's --json contract.</summary>
public sealed record StatusResponse(
    string NodeId,
    string Name,
    string Version,
    long UptimeSeconds,
    string DataDir,
    string Advertise,
    ClusterStatus? Cluster,
    Runtime.Instances.RuntimeStatus? Runtime = null);

/// <summary>The cluster part of GET /v1/status; absent while the node is standalone.</summary>
/// <param name="Leader">The leader's name, or null while none is known.</param>
/// <param name="Healthy">A leader is known and a majority of voters is alive.</param>
/// <param name="CertificateExpires">When this node's certificate expires; it is renewed automatically at 50-80 % of its life.</param>
/// <param name="GossipKey">The id of the gossip key this node seals with (never the key).</param>
/// <param name="Gossip">Datagram counts, and the datagrams dropped (forged, replayed, truncated, malformed...) by reason.</param>
/// <param name="StateVersion">How many commands this node's copy of the replicated state has applied.</param>
public sealed record ClusterStatus(string Id, DateTimeOffset CertificateExpires, string GossipKey, string? Leader, int Members, int Voters, bool Healthy, GossipStatus Gossip, long StateVersion);

public sealed record GossipStatus(long DatagramsReceived, long DatagramsSent, long Dropped, IReadOnlyDictionary<string, long> DroppedByReason);

public sealed record KeyRotationResponse(string GossipKey);

/// <summary>POST /v1/cluster/join. The token travels in the body, never in a URL.</summary>
public sealed record ClusterJoinRequest(string Address, string Token);

/// <summary>POST /v1/cluster/remove: a member's id or name.</summary>
public sealed record ClusterRemoveRequest(string Node);

/// <summary>`cluster init` settings; null keeps the agent's [overlay] config (or its defaults).</summary>
public sealed record ClusterInitRequest(string? OverlaySubnet = null, uint? OverlayVni = null, int? OverlayPort = null);

public sealed record ClusterInitResponse(string ClusterId, string Token, string JoinCommand);

public sealed record ClusterJoinResponse(string ClusterId, int Members);

public sealed record ClusterTokenResponse(string Token, string JoinCommand);

/// <summary>One row of GET /v1/members.</summary>
public sealed record MemberResponse(string Id, string Name, string Address, string State, string Role, bool Leader, string Version);

/// <summary>POST /v1/firewall/rules: add (or with <paramref name="Remove"/>, take out) an operator rule.</summary>
/// <param name="Action">allow or deny.</param>
/// <param name="Ports">PORT[-PORT]/PROTO, e.g. 443/tcp.</param>
/// <param name="Node">This node only, instead of the cluster's policy.</param>
/// <param name="Force">Skip the refusal of rules that would cut SSH or the cluster (commit-confirm still guards).</param>
public sealed record FirewallRuleRequest(string Action, string Ports, string? From, bool Node, bool Remove, bool Force);

/// <param name="Outcome">added or removed.</param>
/// <param name="Change">What applying it on this node did.</param>
public sealed record FirewallRuleResponse(string Rule, string Scope, string Outcome, Nanobox.Node.Firewall.FirewallChange Change);

/// <summary>POST /v1/images/pull: a tag, a digest reference or an image id.</summary>
public sealed record ImagePullRequest(string Image);

/// <param name="Pin">What a deploy of <paramref name="Image"/> would pin: the registry digest reference, or the image id.</param>
/// <param name="ImageId">The image id in this node's engine.</param>
/// <param name="Source">local (it was here), peer (copied from <paramref name="From"/>) or registry.</param>
/// <param name="Bytes">The size of the archive copied from a peer; 0 otherwise.</param>
public sealed record ImagePullResponse(string Image, string Pin, string ImageId, string Source, string? From, long Bytes, double Seconds);

/// <summary>One line of GET /v1/internal/logs (newline-delimited JSON).</summary>
/// <param name="Stream">stdout or stderr.</param>
public sealed record LogLineResponse(string Stream, DateTimeOffset? Time, string Text);

/// <summary>The last line of GET /v1/internal/logs when the stream failed after it started.</summary>
public sealed record LogStreamError(string Error);

/// <summary>An RFC 9457 problem details body: every error the admin API returns.</summary>
/// <param name="Errors">For an invalid app spec: every error, one line each (<c>line N: KEY: PROBLEM; FIX</c>).</param>
public sealed record ProblemResponse(string Type, string Title, int Status, string Detail, IReadOnlyList<string>? Errors = null);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(ProblemResponse))]
[JsonSerializable(typeof(ClusterJoinRequest))]
[JsonSerializable(typeof(ClusterRemoveRequest))]
[JsonSerializable(typeof(KeyRotationResponse))]
[JsonSerializable(typeof(MemberResponse))]
[JsonSerializable(typeof(ClusterInitRequest))]
[JsonSerializable(typeof(ClusterInitResponse))]
[JsonSerializable(typeof(ClusterJoinResponse))]
[JsonSerializable(typeof(ClusterTokenResponse))]
[JsonSerializable(typeof(IReadOnlyList<MemberResponse>))]
[JsonSerializable(typeof(FirewallRuleRequest))]
[JsonSerializable(typeof(FirewallRuleResponse))]
[JsonSerializable(typeof(Nanobox.Node.Firewall.FirewallStatus))]
[JsonSerializable(typeof(Nanobox.Node.Overlay.OverlayStatus))]
[JsonSerializable(typeof(Runtime.Apps.AppDeployRequest))]
[JsonSerializable(typeof(Runtime.Apps.AppRollbackRequest))]
[JsonSerializable(typeof(Runtime.Apps.AppChangeResponse))]
[JsonSerializable(typeof(IReadOnlyList<Runtime.Apps.AppSummary>))]
[JsonSerializable(typeof(Runtime.Apps.AppDetails))]
[JsonSerializable(typeof(Runtime.Apps.AppLogLine))]
[JsonSerializable(typeof(IReadOnlyList<Runtime.Instances.InstanceRow>))]
[JsonSerializable(typeof(ImagePullRequest))]
[JsonSerializable(typeof(ImagePullResponse))]
[JsonSerializable(typeof(LogLineResponse))]
[JsonSerializable(typeof(LogStreamError))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
