using System.Globalization;
using System.Runtime.InteropServices;
using Nanobox.Node.Host;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Instances;

/// <summary>
/// The host directories behind the writable and network dirs of this node's instances, under
/// <c>DATA_DIR/apps/APP/COMPONENT/</c>: <c>INDEX/writable/PATH</c> belongs to one container and goes with it;
/// <c>network/PATH</c> is the component's on this node, shared by its instances and kept across redeploys,
/// rollbacks and `app rm` (deploying the app again finds its data). Each is owned by the component's uid:gid.
/// </summary>
public sealed class InstanceDirectories(string dataDir)
{
    public string Root { get; } = Path.Combine(dataDir, "apps");

    public string InstanceDirectory(InstanceKey key) =>
        Path.Combine(Root, key.App, key.Component, key.Index.ToString(CultureInfo.InvariantCulture));

    public string NetworkDirectory(string app, string component) => Path.Combine(Root, app, component, "network");

    /// <summary>Fresh, empty writable dirs for a new container of <paramref name="key"/>: container path -> host path.</summary>
    /// <exception cref="IOException">A directory cannot be made or given to the component's user.</exception>
    public IReadOnlyDictionary<string, string> PrepareWritable(InstanceKey key, ComponentSpec component)
    {
        Remove(key);
        return Prepare(Path.Combine(InstanceDirectory(key), "writable"), component.WritableDirs, component.User);
    }

    /// <summary>The component's network dirs on this node, made if missing (their content is kept): container path -> host path.</summary>
    /// <exception cref="IOException">A directory cannot be made or given to the component's user.</exception>
    public IReadOnlyDictionary<string, string> PrepareNetwork(InstanceKey key, ComponentSpec component) =>
        Prepare(NetworkDirectory(key.App, key.Component), component.NetworkDirs, component.User);

    /// <summary>Deletes the instance's writable dirs (its container is gone); nothing when there are none.</summary>
    public void Remove(InstanceKey key)
    {
        var directory = InstanceDirectory(key);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Container paths are absolute, normal and never nested in each other (the spec checks), so each maps to
    /// the same path under <paramref name="under"/> and no two share a host directory.
    /// </summary>
    private static Dictionary<string, string> Prepare(string under, IEnumerable<string> containerPaths, ContainerUser user)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in containerPaths)
        {
            var host = under + path;
            Directory.CreateDirectory(host);
            if (Libc.chown(host, user.Uid, user.Gid) != 0)
            {
                throw new IOException($"cannot give {host} to {user}: {Marshal.GetLastPInvokeErrorMessage()}; is the agent running as root?");
            }

            map[path] = host;
        }

        return map;
    }
}
