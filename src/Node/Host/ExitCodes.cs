namespace Nanobox.Node.Host;

/// <summary>Process exit codes, documented in docs/CLI.md; scripts rely on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command ran and failed (the agent refused it, or a local step failed).</summary>
    public const int Failed = 1;

    /// <summary>No agent answered on the admin socket.</summary>
    public const int AgentUnreachable = 2;

    /// <summary>EX_CONFIG: a broken config, data dir or store that a restart will not fix; the unit does not restart on it.</summary>
    public const int Config = 78;
}
