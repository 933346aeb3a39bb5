using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace CtlHa.Core;

/// <summary>
/// Receiving on a thread of its own, in the kernel's hands: the thread sleeps in poll() and the kernel wakes it when
/// bytes arrive — one wake-up. An awaited socket read costs two: the runtime's epoll thread wakes, then hands the
/// completion to a thread-pool worker it must wake too. On a hot connection (the interlink, an iSCSI session doing
/// I/O) that second hop is most of the cost of a small message, so such connections read this way
/// (LIO likewise gives each connection its own receive thread).
/// </summary>
/// <remarks>
/// On Linux: recv() with MSG_DONTWAIT on the socket's descriptor, and poll() when nothing is there. Elsewhere: poll,
/// then the socket's own blocking Receive. A socket read only this way never joins the runtime's epoll set (that
/// happens on the first awaited operation that has to wait), so its traffic wakes no other thread at all.
/// </remarks>
public static partial class DirectReceive
{
    private const int MsgDontWait = 0x40;
    private const int EAgain = 11;
    private const int EIntr = 4;

    private static readonly bool s_recvDontWait = OperatingSystem.IsLinux();

    /// <summary>
    /// Reads what is there into <paramref name="buffer"/>, waiting for it if nothing is. Returns the byte count, 0 when
    /// the peer closed, or -1 when <paramref name="cancellationToken"/> was cancelled (checked at least every
    /// <paramref name="pollMilliseconds"/>). Throws <see cref="SocketException"/> for a socket error.
    /// </summary>
    public static int Receive(Socket socket, Span<byte> buffer, CancellationToken cancellationToken, int pollMilliseconds = 50)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("empty receive buffer", nameof(buffer));
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            if (!s_recvDontWait)
            {
                if (socket.Poll(pollMilliseconds * 1000, SelectMode.SelectRead))
                {
                    return socket.Receive(buffer);
                }

                continue;
            }

            // Under load the bytes are usually there already: one syscall.
            var n = Recv(socket.SafeHandle, ref MemoryMarshal.GetReference(buffer), (nuint)buffer.Length, MsgDontWait);
            if (n >= 0)
            {
                return (int)n;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (EAgain or EIntr))
            {
                throw new SocketException((int)SocketErrorOf(errno));
            }

            // Nothing yet: sleep in poll() until readable (or the period ends and cancellation is checked again).
            socket.Poll(pollMilliseconds * 1000, SelectMode.SelectRead);
        }

        return -1;
    }

    /// <summary>
    /// <see cref="Receive"/> for code that awaits (a handshake, a login): the wait happens on a thread of its own, so
    /// no thread-pool thread is blocked and the socket stays out of the epoll set.
    /// </summary>
    public static Task<int> ReceiveAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(
            () => Receive(socket, buffer.Span, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    /// <summary>
    /// Connects without an awaited connect: that would put the socket in the runtime's epoll set for good, and every
    /// segment that arrives afterwards would wake the epoll thread and a pool worker for nothing. A non-blocking
    /// connect() and poll() for writability on a thread of its own instead (cancellation checked every 50 ms).
    /// </summary>
    public static Task ConnectAsync(Socket socket, EndPoint endPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return Task.Factory.StartNew(
            () =>
            {
                socket.Blocking = false;
                try
                {
                    socket.Connect(endPoint);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    while (!socket.Poll(50_000, SelectMode.SelectWrite) && !socket.Poll(0, SelectMode.SelectError))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                    if (error != SocketError.Success)
                    {
                        throw new SocketException((int)error);
                    }
                }

                socket.Blocking = true;
                if (!socket.Connected)
                {
                    throw new SocketException((int)SocketError.NotConnected);
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    /// <summary>Runs <paramref name="body"/> on a new background thread; the task completes (or faults) with it.</summary>
    public static Task RunThread(string name, Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                body();
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    private static SocketError SocketErrorOf(int errno) => errno switch
    {
        104 => SocketError.ConnectionReset,     // ECONNRESET
        32 => SocketError.Shutdown,             // EPIPE
        110 => SocketError.TimedOut,            // ETIMEDOUT
        9 => SocketError.OperationAborted,      // EBADF: closed under us
        107 => SocketError.NotConnected,        // ENOTCONN
        _ => SocketError.SocketError,
    };

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(SafeHandle socket, ref byte buffer, nuint length, int flags);
}
