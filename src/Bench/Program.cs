using Nanobox.Bench;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

switch (args)
{
    case ["foundation", var candidate, var baseline, var deb, ..]:
        return await FoundationBenchmark.RunAsync(candidate, baseline, deb, args.Length > 4 ? int.Parse(args[4]) : 20, Console.Out);
    case ["cluster", ..]:
        return await ClusterBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 10, Console.Out, cancel.Token);
    case ["firewall", ..]:
        return await FirewallBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 20, Console.Out, cancel.Token);

    case ["apps", ..]:
        return await AppsDeployBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 5, Console.Out, cancel.Token);

    case ["overlay-kernel", ..]:
        return await OverlayKernelBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 3, Console.Out);
    case ["overlay-throughput", ..]:
        return await OverlayThroughputBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 3, args.Length > 2 ? int.Parse(args[2]) : 5, Console.Out, cancel.Token);

    default:
        Console.Error.WriteLine("usage: nanobox-bench foundation CANDIDATE_BINARY BASELINE_BINARY DEB [RUNS]");
        Console.Error.WriteLine("       nanobox-bench cluster [RUNS]   (root: builds a lab of 5 + RUNS hosts)");
        Console.Error.WriteLine("       nanobox-bench firewall [RUNS]  (root, in a network namespace of its own: `unshare --net`)");
        Console.Error.WriteLine("       nanobox-bench overlay-kernel [RUNS]   (root: netlink vs iproute2 in a scratch namespace)");
        Console.Error.WriteLine("       nanobox-bench overlay-throughput [RUNS] [SECONDS]   (root: iperf3 over the overlay vs the underlay in a 2-host Docker lab)");
        Console.Error.WriteLine("       nanobox-bench apps [RUNS]      (root: app deploy of 30 instances vs docker run, in a lab of 3 hosts with Docker)");
        return 64;
}
