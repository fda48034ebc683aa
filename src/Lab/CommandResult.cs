namespace Nanobox.Lab;

/// <summary>What a finished command left behind.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The command line, for messages.</summary>
    public string Command { get; init; } = "";

    public bool Succeeded => ExitCode == 0;

    /// <summary>Returns this result when the exit code is 0, else throws with the command and its output.</summary>
    public CommandResult EnsureSuccess() =>
        ExitCode == 0
            ? this
            : throw new LabCommandException(this);

    public override string ToString() => $"`{Command}` exited {ExitCode}\nstdout: {Stdout.TrimEnd()}\nstderr: {Stderr.TrimEnd()}";
}
