namespace Nanobox.Node.Runtime.Distribution;

/// <summary>Keeps a stream alive while its sender waits for something to send.</summary>
internal static class Heartbeats
{
    /// <summary>
    /// Awaits <paramref name="pending"/>, running <paramref name="beat"/> (a heartbeat frame) every
    /// <paramref name="interval"/> it has not completed, so the reader can tell a quiet stream from a dead peer.
    /// </summary>
    public static async Task<T> AwaitAsync<T>(Task<T> pending, TimeSpan interval, Func<CancellationToken, Task> beat, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await pending.WaitAsync(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException) when (!pending.IsCompleted)
            {
                await beat(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
