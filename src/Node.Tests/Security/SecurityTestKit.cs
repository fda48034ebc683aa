using System.Net;
using Nanobox.Node.Security;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Tests.Security;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>CAs and node credentials for tests, made the way the product makes them.</summary>
internal static class TestPki
{
    public static readonly IPAddress[] Addresses = [IPAddress.Parse("10.0.0.7"), IPAddress.Parse("fd00::7")];

    public static ClusterCertificateAuthority NewCa(string clusterId = "cluster-a", TimeProvider? time = null) =>
        ClusterCertificateAuthority.Create(clusterId, time);

    public static NodeCredentials NewNode(ClusterCertificateAuthority ca, string? nodeId = null, TimeSpan? lifetime = null)
    {
        nodeId ??= NodeIdentity.NewId();
        var (key, request) = NodeCredentials.CreateKeyAndRequest(nodeId);
        using (key)
        {
            using var issued = ca.Issue(request, nodeId, Addresses, lifetime);
            return NodeCredentials.FromIssued(issued.RawData, key);
        }
    }
}

internal static class Tamper
{
    /// <summary>A copy of <paramref name="bytes"/> with one bit flipped.</summary>
    public static byte[] Flip(byte[] bytes, int index = 0, int bit = 7)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= (byte)(1 << bit);
        return copy;
    }

    public static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
