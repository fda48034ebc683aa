namespace Nanobox.Node.Runtime;

/// <summary>Runs a step now and then every <c>interval</c> until cancelled; a step that fails with cancellation ends the loop.</summary>
internal static class Ticker
{
    public static async Task RunAsync(TimeSpan interval, Func<CancellationToken, Task> step, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                await step(cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
