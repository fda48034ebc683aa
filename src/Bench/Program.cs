using Nanobox.Bench;

switch (args)
{
    case ["foundation", var candidate, var baseline, var deb, ..]:
        return await FoundationBenchmark.RunAsync(candidate, baseline, deb, args.Length > 4 ? int.Parse(args[4]) : 20, Console.Out);
    case ["cluster", ..]:
        using (var cancel = new CancellationTokenSource())
        {
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            return await ClusterBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 10, Console.Out, cancel.Token);
        }

    case ["overlay-kernel", ..]:
        return await OverlayKernelBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 3, Console.Out);

    default:
        Console.Error.WriteLine("usage: nanobox-bench foundation CANDIDATE_BINARY BASELINE_BINARY DEB [RUNS]");
        Console.Error.WriteLine("       nanobox-bench cluster [RUNS]   (root: builds a lab of 5 + RUNS hosts)");
        Console.Error.WriteLine("       nanobox-bench overlay-kernel [RUNS]   (root: netlink vs iproute2 in a scratch namespace)");
        return 64;
}
