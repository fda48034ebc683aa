namespace Nanobox.Lab;

/// <summary>
/// Removes a lab knowing nothing but its id, so the same code serves DisposeAsync, the ProcessExit
/// backstop, the stale sweep and `nanobox-lab down`. Every step is idempotent and runs even when an
/// earlier one failed; the failures are reported together at the end.
/// </summary>
internal static class LabTeardown
{
    private static readonly TimeSpan DockerdGrace = TimeSpan.FromSeconds(20);

    public static async Task RunAsync(string id, Action<string> log, CancellationToken ct)
    {
        var paths = new LabPaths(id);
        var errors = new List<string>();
        async Task Step(string what, Func<Task> action)
        {
            try
            {
                await action();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                errors.Add($"{what}: {ex.Message}");
            }
        }

        var namespaces = Netns.List().Where(n => n.StartsWith(paths.NamespacePrefixForLab, StringComparison.Ordinal))
            // Hosts first: deleting the switch first would also work, but this keeps the order of creation reversed.
            .OrderBy(n => n == paths.SwitchNamespace)
            .ToList();

        // dockerd first and gently: on SIGTERM it stops its containers and containerd and unmounts its layers.
        await Step("stop dockerd", () => DockerEngine.StopAllAsync(paths, DockerdGrace, ct));
        await Step("kill processes", async () =>
        {
            var pids = new List<int>();
            foreach (var ns in namespaces)
            {
                pids.AddRange(await Netns.PidsAsync(ns, ct));
            }

            // Descendants too: containers left by a killed dockerd run in netns of their own under its shims.
            var all = Processes.WithDescendants(pids);
            all.ExceptWith([Environment.ProcessId]);
            await Processes.KillAsync(all.ToList(), ct);
        });
        foreach (var ns in namespaces)
        {
            await Step($"delete namespace {ns}", () => Netns.DeleteAsync(ns, ct));
        }

        await Step("unmount", () => Mounts.UnmountAllAsync([paths.FilesDir, paths.RunDir], ct));
        // Deleting through a mount point would reach outside the lab: only delete what nothing is mounted under.
        if (Mounts.Under(paths.FilesDir, paths.RunDir).Count == 0)
        {
            // Files before state: a files dir without a state dir is recognisably stale to the next sweep.
            await Step("remove files", () => DeleteDirectory(paths.FilesDir));
            await Step("remove state", () => DeleteDirectory(paths.RunDir));
        }

        if (errors.Count > 0)
        {
            throw new LabException($"teardown of lab {id} was incomplete:\n  {string.Join("\n  ", errors)}");
        }
    }

    /// <summary>
    /// Tears down every lab whose owner is gone: state dirs with a dead owner, and namespaces or file dirs
    /// with no state dir at all (a lab always writes its state first and removes it last, so those are
    /// leftovers). Labs with a live or manual owner are never touched: parallel runs coexist.
    /// </summary>
    public static async Task<int> SweepAsync(Action<string> log, CancellationToken ct)
    {
        var candidates = new HashSet<string>();
        candidates.UnionWith(Netns.List().Select(LabPaths.IdOfNamespace).OfType<string>());
        candidates.UnionWith(LabPaths.ExistingIds(LabPaths.RunRoot));
        candidates.UnionWith(LabPaths.ExistingIds(LabPaths.FilesRoot));

        var swept = 0;
        foreach (var id in candidates.Order())
        {
            var paths = new LabPaths(id);
            if (LabOwner.IsAlive(paths))
            {
                continue;
            }

            // Re-check after a moment: a lab being created right now has its state dir before anything else,
            // but its owner file may be a few microseconds behind the directory.
            if (System.IO.Directory.Exists(paths.RunDir) && !File.Exists(paths.OwnerFile))
            {
                await Task.Delay(500, ct);
                if (LabOwner.IsAlive(paths))
                {
                    continue;
                }
            }

            log($"nanobox-lab: sweeping stale lab {id} (owner: {LabOwner.Describe(paths)})");
            await RunAsync(id, log, ct);
            swept++;
        }

        return swept;
    }

    private static Task DeleteDirectory(string dir)
    {
        if (System.IO.Directory.Exists(dir))
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }

        return Task.CompletedTask;
    }
}
