using Nanobox.Lab.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return await LabCli.RunAsync(args, cancel.Token);
