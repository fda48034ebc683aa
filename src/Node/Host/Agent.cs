using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Nanobox.Node.Admin;
using Nanobox.Node.Cluster;
using Nanobox.Node.Firewall;
using Nanobox.Node.Overlay;
using Nanobox.Node.Runtime;
using Nanobox.Node.Runtime.Apps;
using Nanobox.Node.Runtime.Distribution;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Runtime.Instances;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Host;

/// <summary>
/// `nanobox agent`: opens the data dir and store, serves the admin endpoint on its Unix socket,
/// tells systemd when it is ready, and stops cleanly on SIGTERM. A standalone node changes nothing
/// in the kernel (no firewall, no links): that starts when it creates or joins a cluster.
/// </summary>
public static partial class Agent
{
    /// <summary>systemd's default TimeoutStopSec is 90 s; we promise to be gone within 5 s of SIGTERM.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(4);

    public static async Task<int> RunAsync(AgentOptions options, CancellationToken cancellationToken)
    {
        // Nothing the agent creates (socket, store, state) is for other users.
        Libc.umask(0b000_111); // 007

        using var loggerFactory = CreateLoggerFactory(options.LogLevel);
        var logger = loggerFactory.CreateLogger("Nanobox.Agent");
        var notifier = SystemdNotifier.FromEnvironment();

        DataDirectory dataDir;
        LiteDbNodeStore store;
        try
        {
            dataDir = DataDirectory.Acquire(options.DataDir);
            try
            {
                store = LiteDbNodeStore.Open(options.DataDir);
            }
            catch
            {
                dataDir.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is ConfigException or StoreException)
        {
            LogStartFailed(logger, ex.Message);
            return ExitCodes.Config;
        }

        using (dataDir)
        using (store)
        {
            var identity = NodeIdentity.LoadOrCreate(store);
            var advertise = options.Advertise ?? ResolveAdvertise(logger);
            var node = new NodeContext(identity, options, advertise);
            var groupId = UnixGroups.FindGroupId(UnixGroups.NanoboxGroup);

            WebApplication app;
            try
            {
                AdminSocket.PrepareForBind(options.SocketPath, groupId);
                app = BuildApp(options, node, store, groupId, loggerFactory);
            }
            catch (ConfigException ex)
            {
                LogStartFailed(logger, ex.Message);
                return ExitCodes.Config;
            }

            await using (app)
            {
                try
                {
                    await app.StartAsync(cancellationToken);
                    AdminSocket.LockDown(options.SocketPath, groupId);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    LogStartFailed(logger, $"Cannot serve the admin socket {options.SocketPath}: {ex.Message}");
                    return ExitCodes.Failed;
                }

                LogStarted(logger, options.Name, identity.Id, BuildInfo.Version, advertise, options.SocketPath, options.DataDir, (long)BuildInfo.Uptime.TotalMilliseconds);
                notifier.Ready($"node {options.Name} ({identity.Id}) serving {options.SocketPath}");

                await app.WaitForShutdownAsync(cancellationToken);
                notifier.Stopping();
                LogStopping(logger);
                await app.StopAsync(CancellationToken.None);
            }

            TryDelete(options.SocketPath);
            LogStopped(logger);
            return ExitCodes.Ok;
        }
    }

    private static WebApplication BuildApp(AgentOptions options, NodeContext node, INodeStore store, uint? groupId, ILoggerFactory loggerFactory)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = options.DataDir,
            EnvironmentName = Environments.Production,
        });

        // The agent's settings come only from AgentOptions: an appsettings.json or ASPNETCORE_* variable
        // left around must not be able to open another listener.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AdminJsonContext.Default));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenUnixSocket(options.SocketPath);
        });

        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(new AdminAccessPolicy(Libc.geteuid(), groupId));
        builder.Services.AddSingleton<FirewallManager>();
        builder.Services.AddSingleton(new DockerEngine(new DockerEngineOptions { Endpoint = options.Docker.ToString(), NodeId = node.Identity.Id }, loggerFactory));
        builder.Services.AddSingleton<OverlayManager>();
        builder.Services.AddSingleton<InstanceBoard>();
        builder.Services.AddSingleton<ClusterService>();
        builder.Services.AddSingleton<IAppsCluster>(services => services.GetRequiredService<ClusterService>());
        builder.Services.AddSingleton<PlacementManager>();
        builder.Services.AddSingleton<NodeReconciler>();
        builder.Services.AddSingleton<AppDeployments>();
        builder.Services.AddSingleton<ClusterInstances>();
        builder.Services.AddSingleton<AppLogs>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ClusterService>());
        builder.Services.AddSingleton<PeerDataServer>();
        builder.Services.AddSingleton<IPeerNetwork>(services => services.GetRequiredService<ClusterService>());
        builder.Services.AddSingleton<ClusterImageSource>();
        builder.Services.AddSingleton<IImageSource>(services => services.GetRequiredService<ClusterImageSource>());
        builder.Services.AddSingleton<IInstanceLogs, ClusterInstanceLogs>();
        // Registered after the cluster: hosted services stop in reverse order, so the apps loops stop first.
        builder.Services.AddHostedService<AppsRuntime>();

        var app = builder.Build();
        app.MapAdminApi();
        return app;
    }

    private static IPAddress ResolveAdvertise(ILogger logger)
    {
        var (address, warning) = DefaultRoute.FindAdvertiseAddress();
        if (warning is not null)
        {
            LogAdvertiseFallback(logger, warning);
        }

        return address;
    }

    private static ILoggerFactory CreateLoggerFactory(LogLevel level) => LoggerFactory.Create(logging =>
    {
        logging.SetMinimumLevel(level);
        logging.AddFilter("Microsoft", level < LogLevel.Warning ? LogLevel.Warning : level);
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null)
        {
            // Under systemd: journald adds the timestamps and takes the <N> priority prefixes.
            logging.AddSystemdConsole();
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    });

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover socket file is removed by the next start.
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cannot start: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogAdvertiseFallback(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Name} ({NodeId}) nanobox {Version} ready in {ElapsedMs} ms: advertising {Advertise}, admin socket {Socket}, data dir {DataDir}")]
    private static partial void LogStarted(ILogger logger, string name, string nodeId, string version, IPAddress advertise, string socket, string dataDir, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping")]
    private static partial void LogStopping(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped cleanly")]
    private static partial void LogStopped(ILogger logger);
}
