namespace Nanobox.Node.Cluster.Join;

/// <summary>
/// Runs one step of a join under its own time limit and turns the limit's cancellation into a
/// <see cref="TimeoutException"/> that says which step, so it is not mistaken for a shutdown.
/// </summary>
internal static class Deadline
{
    /// <param name="step">What did not happen in time, as the start of a message: "no join request".</param>
    /// <exception cref="TimeoutException">The step did not finish within <paramref name="timeout"/>.</exception>
    public static async Task<T> RunAsync<T>(TimeSpan timeout, string step, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await action(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException cancelled) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{step} within {timeout.TotalSeconds:0.#} s", cancelled);
        }
    }

    /// <inheritdoc cref="RunAsync{T}"/>
    public static Task RunAsync(TimeSpan timeout, string step, Func<CancellationToken, Task> action, CancellationToken cancellationToken) =>
        RunAsync(timeout, step, async token =>
        {
            await action(token).ConfigureAwait(false);
            return true;
        }, cancellationToken);
}
