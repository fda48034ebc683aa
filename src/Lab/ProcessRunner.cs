using System.Diagnostics;
using System.Text;

namespace Nanobox.Lab;

/// <summary>Runs short-lived commands to completion, capturing their output, bounded by a timeout and a token.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <paramref name="file"/> and returns its exit code and output. A command still running at the
    /// timeout is killed (with its children) and reported as <see cref="LabTimeoutException"/>; cancellation
    /// kills it too and surfaces as <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<CommandResult> RunAsync(
        string file,
        IEnumerable<string> args,
        TimeSpan? timeout = null,
        CancellationToken ct = default,
        Func<Stream, CancellationToken, Task>? stdin = null,
        IReadOnlyDictionary<string, string?>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        // A null value removes the variable, so a command can run without something this process has.
        foreach (var (key, value) in env ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                psi.Environment.Remove(key);
            }
            else
            {
                psi.Environment[key] = value;
            }
        }

        var command = Describe(file, psi.ArgumentList);
        using var process = Process.Start(psi) ?? throw new LabException($"could not start `{command}`");
        var limit = timeout ?? DefaultTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);

        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            // Input is always redirected so a command never reads the caller's terminal; without input it sees EOF.
            if (stdin is not null)
            {
                await stdin(process.StandardInput.BaseStream, deadline.Token);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            KillQuietly(process);
            if (ex is IOException)
            {
                // The command closed its input early (it failed); its exit code and stderr say why.
                await process.WaitForExitAsync(CancellationToken.None);
            }
            else
            {
                ct.ThrowIfCancellationRequested();
                var partial = await CollectAsync(stdout, stderr);
                throw new LabTimeoutException($"`{command}` did not finish within {limit.TotalSeconds:0.#} s; stdout: {partial.Out} stderr: {partial.Err}");
            }
        }

        var (o, e) = await CollectAsync(stdout, stderr);
        return new CommandResult(process.ExitCode, o, e) { Command = command };
    }

    /// <summary>Runs a command with this process's terminal (for the by-hand CLI) and returns its exit code.</summary>
    public static async Task<int> RunInteractiveAsync(string file, IEnumerable<string> args, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new LabException($"could not start {file}");
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            throw;
        }

        return process.ExitCode;
    }

    public static string Describe(string file, IEnumerable<string> args) =>
        string.Join(' ', new[] { file }.Concat(args).Select(Quote));

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@+%".Contains(c)) ? arg : $"'{arg.Replace("'", "'\\''")}'";

    private static async Task<(string Out, string Err)> CollectAsync(Task<string> stdout, Task<string> stderr)
    {
        // After a kill the pipes close promptly; don't let a grandchild holding them open hang us.
        var both = Task.WhenAll(stdout, stderr);
        await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(5)));
        return (stdout.IsCompletedSuccessfully ? stdout.Result : "", stderr.IsCompletedSuccessfully ? stderr.Result : "");
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
