using System.Buffers.Binary;
using Nanobox.Node.Runtime.Distribution;

namespace Nanobox.Node.Tests.Distribution;

/// <summary>The image archive on the wire: what a reader accepts as whole, and every way it refuses.</summary>
public sealed class ArchiveFramingTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Chunks_and_heartbeats_read_back_as_the_archive_and_end_at_the_end_marker()
    {
        var archive = Enumerable.Range(0, 700_000).Select(i => (byte)(i * 7)).ToArray();
        var wire = new MemoryStream();
        await ArchiveFraming.WriteMarkerAsync(wire, ArchiveFraming.Heartbeat, default);
        foreach (var chunk in archive.Chunk(DataPathLimits.ArchiveChunkBytes))
        {
            await ArchiveFraming.WriteChunkAsync(wire, new byte[4].Concat(chunk).ToArray(), default);
            await ArchiveFraming.WriteMarkerAsync(wire, ArchiveFraming.Heartbeat, default);
        }

        await ArchiveFraming.WriteMarkerAsync(wire, ArchiveFraming.End, default);
        wire.WriteByte(0xFF); // nothing after the end marker is read
        wire.Position = 0;
        var reader = new ArchiveReadStream(wire, "h1", DataPathLimits.MaxImageBytes, Idle);

        var copy = new MemoryStream();
        await reader.CopyToAsync(copy);

        Assert.Equal(archive, copy.ToArray());
        Assert.Equal(archive.Length, reader.BytesRead);
        Assert.Null(reader.Failure);
        Assert.Equal(0, await reader.ReadAsync(new byte[10]));
    }

    [Fact]
    public async Task A_connection_that_closes_before_the_end_marker_is_a_broken_copy_not_a_whole_one()
    {
        var wire = new MemoryStream();
        await ArchiveFraming.WriteChunkAsync(wire, new byte[4 + 100], default);
        wire.Position = 0;
        var reader = new ArchiveReadStream(wire, "h1", DataPathLimits.MaxImageBytes, Idle);

        var broken = await Assert.ThrowsAsync<EndOfStreamException>(() => reader.CopyToAsync(Stream.Null));

        Assert.Contains("h1", broken.Message);
        Assert.Contains("after 100 bytes", broken.Message);
        Assert.Same(broken, reader.Failure);
    }

    [Fact]
    public async Task A_chunk_cut_short_is_a_broken_copy()
    {
        var wire = new MemoryStream();
        await ArchiveFraming.WriteChunkAsync(wire, new byte[4 + 100], default);
        wire.SetLength(50);
        wire.Position = 0;

        await Assert.ThrowsAsync<EndOfStreamException>(() => new ArchiveReadStream(wire, "h1", DataPathLimits.MaxImageBytes, Idle).CopyToAsync(Stream.Null));
    }

    [Fact]
    public async Task The_senders_failure_is_reported_with_its_reason()
    {
        var wire = new MemoryStream();
        await ArchiveFraming.WriteChunkAsync(wire, new byte[4 + 10], default);
        await ArchiveFraming.WriteFailureAsync(wire, "the Docker engine's export broke off", default);
        wire.Position = 0;

        var failure = await Assert.ThrowsAsync<IOException>(() => new ArchiveReadStream(wire, "h1", DataPathLimits.MaxImageBytes, Idle).CopyToAsync(Stream.Null));

        Assert.Equal("h1 stopped sending the image: the Docker engine's export broke off", failure.Message);
    }

    [Fact]
    public async Task More_than_the_size_limit_is_refused()
    {
        var wire = new MemoryStream();
        for (var i = 0; i < 3; i++)
        {
            await ArchiveFraming.WriteChunkAsync(wire, new byte[4 + 1000], default);
        }

        await ArchiveFraming.WriteMarkerAsync(wire, ArchiveFraming.End, default);
        wire.Position = 0;

        var refused = await Assert.ThrowsAsync<IOException>(() => new ArchiveReadStream(wire, "h1", maxBytes: 2500, Idle).CopyToAsync(Stream.Null));

        Assert.Contains("the limit for an image copied between nodes", refused.Message);
    }

    [Theory]
    [InlineData(-3)]
    [InlineData(int.MinValue)]
    [InlineData(DataPathLimits.ArchiveChunkBytes + 1)]
    [InlineData(int.MaxValue)]
    public async Task A_malformed_chunk_header_is_refused_before_anything_is_read(int header)
    {
        var wire = new MemoryStream();
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, header);
        wire.Write(bytes);
        wire.Write(new byte[1000]);
        wire.Position = 0;
        var reader = new ArchiveReadStream(wire, "h1", DataPathLimits.MaxImageBytes, Idle);

        await Assert.ThrowsAsync<InvalidDataException>(() => reader.CopyToAsync(Stream.Null));
        Assert.Equal(0, reader.BytesRead);
    }

    [Fact]
    public async Task A_silent_sender_is_given_up_after_the_idle_timeout()
    {
        var reader = new ArchiveReadStream(new SilentStream(), "h1", DataPathLimits.MaxImageBytes, TimeSpan.FromMilliseconds(200));

        var silent = await Assert.ThrowsAsync<TimeoutException>(() => reader.ReadAsync(new byte[10]).AsTask());

        Assert.Contains("nothing came from h1", silent.Message);
    }

    /// <summary>A connection on which nothing ever arrives.</summary>
    private sealed class SilentStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
