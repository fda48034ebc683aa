namespace Nanobox.Lab;

/// <summary>Anything the lab cannot do. Messages carry what is needed to diagnose a failed test.</summary>
public class LabException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The machine cannot host a lab (not root, a tool or the binary missing). CI must fail on this, never skip.</summary>
public sealed class LabPrerequisiteException(string message) : LabException(message);

/// <summary>A command exited non-zero where success was required.</summary>
public sealed class LabCommandException(CommandResult result) : LabException(result.ToString())
{
    public CommandResult Result { get; } = result;
}

/// <summary>Something did not happen in time. <see cref="LogTail"/> is the end of the log that explains why, when there is one.</summary>
public sealed class LabTimeoutException(string message, string? logTail = null)
    : LabException(logTail is null ? message : $"{message}\n--- last lines of the log ---\n{logTail}")
{
    public string? LogTail { get; } = logTail;
}
