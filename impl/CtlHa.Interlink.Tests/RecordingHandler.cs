using System.Collections.Concurrent;
using System.Threading.Channels;
using CtlHa.Wire;

namespace CtlHa.Interlink.Tests;

/// <summary>An HA layer stand-in: sends a fixed state sync at link-up and records everything.</summary>
public sealed class RecordingHandler(params InterlinkMessage[] sync) : IInterlinkHandler
{
    private readonly Channel<InterlinkMessage> _received = Channel.CreateUnbounded<InterlinkMessage>();
    private TaskCompletionSource<InterlinkPeer> _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<InterlinkDown> _down = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InterlinkLink? Link { get; set; }

    public ConcurrentQueue<InterlinkDown> Downs { get; } = new();

    public int UpCount;

    public Task<InterlinkPeer> Up => _up.Task;

    public Task<InterlinkDown> Down => _down.Task;

    public ChannelReader<InterlinkMessage> Received => _received.Reader;

    /// <summary>Arms the next Up/Down waits.</summary>
    public void Reset()
    {
        _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _down = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async ValueTask OnLinkUpAsync(InterlinkPeer peer, CancellationToken cancellationToken)
    {
        foreach (var message in sync)
        {
            await Link!.SendAsync(message, cancellationToken);
        }

        Interlocked.Increment(ref UpCount);
        _up.TrySetResult(peer);
    }

    public ValueTask OnMessageAsync(InterlinkMessage message, CancellationToken cancellationToken)
    {
        _received.Writer.TryWrite(message);
        return ValueTask.CompletedTask;
    }

    public void OnLinkDown(InterlinkDown down)
    {
        Downs.Enqueue(down);
        _down.TrySetResult(down);
    }

    public async Task<T> NextAsync<T>(TimeSpan timeout)
        where T : InterlinkMessage
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var message = await _received.Reader.ReadAsync(cts.Token);
            if (message is T t)
            {
                return t;
            }
        }
    }
}
