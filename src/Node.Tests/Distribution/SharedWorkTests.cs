using Nanobox.Node.Runtime.Distribution;

namespace Nanobox.Node.Tests.Distribution;

public sealed class SharedWorkTests
{
    [Fact]
    public async Task Concurrent_callers_of_one_key_share_one_run()
    {
        var work = new SharedWork<string, int>();
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Task<int> Run() => work.RunAsync("sha256:a", async _ =>
        {
            Interlocked.Increment(ref runs);
            return await release.Task;
        }, CancellationToken.None);

        var callers = Enumerable.Range(0, 5).Select(_ => Run()).ToList();
        await WaitForAsync(() => Volatile.Read(ref runs) == 1);
        release.SetResult(42);

        var results = await Task.WhenAll(callers);
        Assert.Equal([42, 42, 42, 42, 42], results);
        Assert.Equal(1, runs);
        Assert.Equal(0, work.Running);
    }

    [Fact]
    public async Task Different_keys_run_apart_and_a_finished_key_runs_again()
    {
        var work = new SharedWork<string, string>();
        var runs = 0;
        Task<string> Run(string key) => work.RunAsync(key, _ =>
        {
            Interlocked.Increment(ref runs);
            return Task.FromResult(key);
        }, CancellationToken.None);

        var both = await Task.WhenAll(Run("a"), Run("b"));
        Assert.Equal(["a", "b"], both);
        Assert.Equal("a", await Run("a"));
        Assert.Equal(3, runs);
    }

    [Fact]
    public async Task A_caller_that_gives_up_leaves_the_run_to_the_others_and_the_last_one_cancels_it()
    {
        var work = new SharedWork<string, int>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<CancellationToken, Task<int>> body = async token =>
        {
            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, token);
                return 0;
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }
        };
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var a = work.RunAsync("k", body, first.Token);
        var b = work.RunAsync("k", body, second.Token);
        await started.Task;

        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);
        await Task.Delay(100);
        Assert.False(cancelled.Task.IsCompleted, "one caller still waits: the run goes on");

        await second.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await WaitForAsync(() => work.Running == 0);
    }

    [Fact]
    public async Task The_last_caller_to_give_up_cancels_the_run_without_holding_the_lock()
    {
        // Cancelling runs the work's callbacks and continuations inline: under the lock, work that takes a lock
        // of its own would deadlock against a thread holding that lock and asking for the shared work.
        var work = new SharedWork<string, int>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var othersCouldAsk = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var caller = new CancellationTokenSource();
        var run = work.RunAsync("k", async token =>
        {
            token.Register(() => othersCouldAsk.TrySetResult(Task.Run(() => work.Running).Wait(TimeSpan.FromSeconds(2))));
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
            return 0;
        }, caller.Token);
        await started.Task;

        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(await othersCouldAsk.Task.WaitAsync(TimeSpan.FromSeconds(5)), "the run was cancelled while the lock was held");
    }

    [Fact]
    public async Task A_failure_reaches_every_caller_and_the_next_call_tries_again()
    {
        var work = new SharedWork<string, int>();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Task<int> Run() => work.RunAsync("k", _ =>
        {
            Interlocked.Increment(ref runs);
            return gate.Task;
        }, CancellationToken.None);

        var callers = Enumerable.Range(0, 3).Select(_ => Run()).ToList();
        await WaitForAsync(() => Volatile.Read(ref runs) == 1);
        gate.SetException(new IOException("peer gone"));

        foreach (var caller in callers)
        {
            Assert.Equal("peer gone", (await Assert.ThrowsAsync<IOException>(() => caller)).Message);
        }

        gate = new TaskCompletionSource<int>();
        gate.SetResult(7);
        Assert.Equal(7, await Run());
        Assert.Equal(2, runs);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in 5 s");
            await Task.Delay(10);
        }
    }
}
