using Nanobox.Bench;

if (args is not ["foundation", var candidate, var baseline, var deb, ..])
{
    Console.Error.WriteLine("usage: nanobox-bench foundation CANDIDATE_BINARY BASELINE_BINARY DEB [RUNS]");
    return 64;
}

var runs = args.Length > 4 ? int.Parse(args[4]) : 20;
return await FoundationBenchmark.RunAsync(candidate, baseline, deb, runs, Console.Out);
