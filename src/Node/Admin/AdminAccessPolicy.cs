namespace Nanobox.Node.Admin;

/// <summary>
/// Who may use the admin socket: root, the agent's own user, and members of the 'nanobox' group.
/// The socket's mode (0660, group nanobox) already keeps others out; this checks the kernel's word
/// for each connection as well, so a socket left with loose permissions is not an open door.
/// </summary>
public sealed class AdminAccessPolicy(uint agentUserId, uint? nanoboxGroupId)
{
    public bool IsAllowed(PeerCredentials peer, IReadOnlyList<uint> supplementaryGroups) =>
        peer.UserId == 0
        || peer.UserId == agentUserId
        || (nanoboxGroupId is { } gid && (peer.GroupId == gid || supplementaryGroups.Contains(gid)));
}
