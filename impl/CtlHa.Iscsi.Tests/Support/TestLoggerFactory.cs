using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CtlHa.Iscsi.Tests.Support;

/// <summary>Collects log entries so a test can fail when the target logged an error it did not expect.</summary>
public sealed class TestLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Entries { get; } = new();

    /// <summary>Optional live copy of every entry (the manual host writes it to a file).</summary>
    public Action<string>? Sink { get; set; }

    public IEnumerable<string> Errors => Entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception}");

    public IEnumerable<string> Warnings => Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TestLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string message = formatter(state, exception);
            owner.Entries.Enqueue((logLevel, category, message, exception));
            owner.Sink?.Invoke($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {message} {exception}");
        }
    }
}
