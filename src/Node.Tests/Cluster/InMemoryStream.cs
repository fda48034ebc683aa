namespace Nanobox.Node.Tests.Cluster;

/// <summary>
/// One end of an in-memory duplex pipe. A pending read completes inline when the other end writes, so
/// a request/response exchange runs to completion on the simulation's single thread.
/// </summary>
internal sealed class InMemoryStream : Stream
{
    private readonly Pipe _incoming;
    private readonly Pipe _outgoing;

    private InMemoryStream(Pipe incoming, Pipe outgoing)
    {
        _incoming = incoming;
        _outgoing = outgoing;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public static (InMemoryStream Client, InMemoryStream Server) CreatePair()
    {
        Pipe up = new(), down = new();
        return (new InMemoryStream(down, up), new InMemoryStream(up, down));
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _incoming.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _outgoing.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => _outgoing.Write(buffer.AsSpan(offset, count));

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("use ReadAsync");

    public override void Flush()
    {
    }

    /// <summary>Stream's default flushes on the thread pool, which would leave the simulation's thread.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        _outgoing.Complete();
        _incoming.Complete();
        base.Dispose(disposing);
    }

    private sealed class Pipe
    {
        private readonly Lock _gate = new();
        private readonly Queue<byte> _bytes = new();
        private TaskCompletionSource? _waiting;
        private bool _completed;

        public void Write(ReadOnlySpan<byte> data)
        {
            TaskCompletionSource? waiting;
            lock (_gate)
            {
                foreach (var b in data)
                {
                    _bytes.Enqueue(b);
                }

                (waiting, _waiting) = (_waiting, null);
            }

            waiting?.TrySetResult();
        }

        public void Complete()
        {
            TaskCompletionSource? waiting;
            lock (_gate)
            {
                _completed = true;
                (waiting, _waiting) = (_waiting, null);
            }

            waiting?.TrySetResult();
        }

        public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            while (true)
            {
                TaskCompletionSource wait;
                lock (_gate)
                {
                    if (_bytes.Count > 0 || _completed)
                    {
                        var count = Math.Min(buffer.Length, _bytes.Count);
                        for (var i = 0; i < count; i++)
                        {
                            buffer.Span[i] = _bytes.Dequeue();
                        }

                        return count;
                    }

                    wait = _waiting = _waiting is { Task.IsCompleted: false } ? _waiting : new TaskCompletionSource();
                }

                // Completed inline by the writer (no thread hop), or cancelled.
                using (cancellationToken.Register(static w => ((TaskCompletionSource)w!).TrySetCanceled(), wait))
                {
                    await wait.Task.ConfigureAwait(false);
                }
            }
        }
    }
}
