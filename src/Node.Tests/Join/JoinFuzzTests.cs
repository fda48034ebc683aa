using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Security;
using Nanobox.Node.Storage;
using Nanobox.Node.Tests.Security;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Join;

/// <summary>
/// Fuzz of the server's side of the handshake: mutations of a valid request, made for the very
/// hello the server sent, from fixed seeds. Every case must end as an answer or as a dropped
/// connection (a protocol error), never as anything else, and only an intact proof may be admitted.
/// </summary>
public sealed class JoinFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Thousands_of_mutated_requests_never_break_the_server_conversation()
    {
        await using var lab = new JoinLab(output);
        var session = new JoinSession(lab.Authority, lab.ServerCredentials.Certificate.RawData, JoinLab.FastLimits, NullLogger.Instance);
        var joiner = new Joiner(lab.Token, lab.ServerCredentials.Certificate.RawData);
        var random = new Random(20300102);
        int admitted = 0, refused = 0, dropped = 0;
        for (var i = 0; i < 4000; i++)
        {
            JoinRequest? sent = null;
            var peer = new ScriptedPeer(hello => Mutate(joiner.Frame(hello, out sent), random, i));
            try
            {
                await session.RunAsync(peer, "fuzz", clientCertificateDer: null, CancellationToken.None);
            }
            catch (ProtocolException)
            {
                dropped++;
                continue;
            }

            var reply = peer.Replies()[1];
            if (reply is JoinError)
            {
                refused++;
                continue;
            }

            // Admitted: only when what the proof covers arrived intact.
            var issued = Assert.IsType<JoinResponse>(reply);
            var request = lab.Authority.Requests.Last();
            Assert.Equal(sent!.NodeId, request.NodeId);
            Assert.Equal(sent.CertificateRequest, request.CertificateRequest);
            Assert.Equal(sent.ClientNonce, request.ClientNonce);
            Assert.NotEmpty(issued.NodeCertificate);
            admitted++;
        }

        output.WriteLine($"admitted {admitted}, refused {refused}, dropped {dropped}");
        Assert.True(refused > 100 && dropped > 1000, "the mutations should reach both the decoder's and the admission's refusals");
        Assert.True(admitted < 400, $"{admitted} of 4000 mutated requests were admitted");
    }

    [Fact]
    public async Task Mutated_requests_over_TLS_leave_the_server_admitting_honest_joiners()
    {
        await using var lab = new JoinLab(output);
        var joiner = new Joiner(lab.Token, lab.ServerCredentials.Certificate.RawData);
        var random = new Random(20300103);
        for (var i = 0; i < 150; i++)
        {
            await using var ssl = await lab.ConnectTlsAsync();
            var hello = Assert.IsType<JoinHello>(await JoinWire.ReadAsync(ssl, CancellationToken.None));
            await ssl.WriteAsync(Mutate(joiner.Frame(hello, out _), random, i));
            // Close our side, so a truncated frame ends at once instead of at the request timeout.
            await ssl.ShutdownAsync();
            await JoinLab.AssertClosedWithinAsync(ssl, TimeSpan.FromSeconds(6));
        }

        (await lab.JoinAsync()).Credentials.Dispose();
        Assert.DoesNotContain(lab.Log.Lines, l => l.Contains("failed unexpectedly", StringComparison.Ordinal));
    }

    /// <summary>One of: a bit flip, a truncation, a wrong length header, random bytes, a spliced-in chunk of noise.</summary>
    internal static byte[] Mutate(byte[] frame, Random random, int round)
    {
        var bytes = (byte[])frame.Clone();
        switch (round % 5)
        {
            case 0:
                var flips = 1 + random.Next(3);
                for (var f = 0; f < flips; f++)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                }

                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
                BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)random.Next(bytes.Length * 2));
                return bytes;
            case 3:
                return Tamper.RandomBytes(random, random.Next(300));
            default:
                var at = 4 + random.Next(bytes.Length - 4);
                var noise = Tamper.RandomBytes(random, 1 + random.Next(16));
                var spliced = bytes[..at].Concat(noise).Concat(bytes[at..]).ToArray();
                BinaryPrimitives.WriteInt32BigEndian(spliced, spliced.Length - 4);
                return spliced;
        }
    }

    /// <summary>An honest joiner with one key, answering any hello with a valid request frame.</summary>
    private sealed class Joiner(JoinToken token, byte[] serverCertificateDer)
    {
        private readonly string _nodeId = NodeIdentity.NewId();
        private readonly byte[] _certificateRequest = NodeCredentials.CreateKeyAndRequest(NodeIdentity.NewId()).CertificateRequest;

        public byte[] Frame(JoinHello hello, out JoinRequest request)
        {
            var clientNonce = JoinProof.NewNonce();
            var proof = JoinProof.Compute(token.Secret, new JoinTranscript(serverCertificateDer, hello.ServerNonce, clientNonce, _certificateRequest, _nodeId));
            request = new JoinRequest(clientNonce, _nodeId, "web-1", [IPAddress.Loopback.ToString()], _certificateRequest, proof);
            var payload = JoinWire.Encode(request);
            var frame = new byte[4 + payload.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, payload.Length);
            payload.CopyTo(frame, 4);
            return frame;
        }
    }

    /// <summary>
    /// The client end of a conversation, in memory: collects what the server writes and, on the
    /// server's first read, answers the hello it has seen with the given bytes, then ends the stream.
    /// </summary>
    private sealed class ScriptedPeer(Func<JoinHello, byte[]> answer) : Stream
    {
        private readonly MemoryStream _written = new();
        private byte[]? _answer;
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        /// <summary>The frames the server wrote, in order.</summary>
        public List<JoinMessage> Replies()
        {
            var frames = new List<JoinMessage>();
            var bytes = _written.ToArray().AsSpan();
            while (bytes.Length > 0)
            {
                var length = BinaryPrimitives.ReadInt32BigEndian(bytes);
                frames.Add(JoinWire.Decode(bytes.Slice(4, length)));
                bytes = bytes[(4 + length)..];
            }

            return frames;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            _answer ??= answer(Assert.IsType<JoinHello>(Replies()[0]));
            var count = Math.Min(buffer.Length, _answer.Length - _position);
            _answer.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Write(byte[] buffer, int offset, int count) => _written.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
