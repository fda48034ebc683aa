using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Consensus;

/// <summary>Keeps log lines for assertions and echoes them to the test output.</summary>
internal sealed class TestLogSink(ITestOutputHelper output) : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ITestOutputHelper Output => output;

    public ILoggerFactory CreateFactory() => LoggerFactory.Create(b => b
        .AddProvider(this)
        .SetMinimumLevel(LogLevel.Information)
        .AddFilter("DotNext", LogLevel.Warning));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{DateTime.Now:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}";
            sink.Lines.Enqueue(line);
            try
            {
                sink.Output.WriteLine(line);
            }
            catch (InvalidOperationException)
            {
                // The test already finished; late lines from background loops are dropped.
            }
        }
    }
}
