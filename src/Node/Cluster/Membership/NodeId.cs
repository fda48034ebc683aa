namespace Nanobox.Node.Cluster.Membership;

/// <summary>Checks node ids as <see cref="Storage.NodeIdentity.NewId"/> makes them: 26 lowercase base32 characters.</summary>
public static class NodeId
{
    public const int Length = 26;

    public static bool IsValid(ReadOnlySpan<char> id)
    {
        if (id.Length != Length)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '2' and <= '7')))
            {
                return false;
            }
        }

        return true;
    }

    public static string Require(string id, string paramName) =>
        IsValid(id) ? id : throw new ArgumentException($"'{id}' is not a node id (26 lowercase base32 characters)", paramName);
}
