using System.Net;
using System.Text;
using DotNext.Buffers;
using DotNext.Net.Cluster.Consensus.Raft.Membership;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// The Raft configuration (voters' endpoints) in a file under the raft dir, so a restarted node
/// knows its peers again without anyone re-adding it. Endpoints are IP:port; DNS names are not used.
/// </summary>
internal sealed class RaftMembersFile(string path) : PersistentClusterConfigurationStorage<EndPoint>(path)
{
    protected override void Encode(EndPoint address, ref BufferWriterSlim<byte> writer)
    {
        var text = Encoding.UTF8.GetBytes(((IPEndPoint)address).ToString());
        writer.Add(checked((byte)text.Length)); // an IPv6 endpoint string is at most ~55 bytes
        writer.Write(text);
    }

    protected override EndPoint Decode(ref SequenceReader reader)
    {
        Span<byte> text = stackalloc byte[reader.ReadByte()];
        reader.Read(text);
        return IPEndPoint.Parse(Encoding.UTF8.GetString(text));
    }
}
