using System.Buffers.Binary;
using System.Net.Sockets;

namespace Nanobox.Node.Admin;

/// <summary>Who is on the other end of a Unix socket connection, as the kernel tells it (SO_PEERCRED).</summary>
public readonly record struct PeerCredentials(int ProcessId, uint UserId, uint GroupId)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    public static PeerCredentials? Read(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            return null;
        }

        Span<byte> ucred = stackalloc byte[12];
        var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        return length < 12
            ? null
            : new PeerCredentials(
                BinaryPrimitives.ReadInt32LittleEndian(ucred),
                BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]),
                BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]));
    }

    /// <summary>The peer's supplementary groups, from /proc; empty if the process is gone.</summary>
    public IReadOnlyList<uint> SupplementaryGroups()
    {
        try
        {
            var line = File.ReadLines($"/proc/{ProcessId}/status").FirstOrDefault(l => l.StartsWith("Groups:", StringComparison.Ordinal));
            return line is null
                ? []
                : line["Groups:".Length..].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToArray();
        }
        catch (IOException)
        {
            return [];
        }
    }
}
