using Nanobox.Node.Cli;

return await NanoboxCli.RunAsync(args);
