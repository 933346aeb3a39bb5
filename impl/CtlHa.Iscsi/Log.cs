using System.Net;
using Microsoft.Extensions.Logging;

namespace CtlHa.Iscsi;

/// <summary>Source-generated log messages (nothing per-I/O above Debug).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "iSCSI portal listening on {Endpoint}")]
    public static partial void Listening(ILogger logger, EndPoint endpoint);

    [LoggerMessage(2, LogLevel.Debug, "connection {Connection} accepted from {Remote}")]
    public static partial void Accepted(ILogger logger, long connection, EndPoint? remote);

    [LoggerMessage(3, LogLevel.Information, "login {Connection}: {SessionType} session {Session} on {Target} ({Parameters})")]
    public static partial void LoggedIn(ILogger logger, long connection, string sessionType, string session, string target, string parameters);

    [LoggerMessage(4, LogLevel.Warning, "login {Connection} from {Remote} failed with status {Status}: {Reason}")]
    public static partial void LoginFailed(ILogger logger, long connection, EndPoint? remote, string status, string reason);

    [LoggerMessage(5, LogLevel.Warning, "connection {Connection}: protocol violation ({Reason}), {Action}: {Message}")]
    public static partial void ProtocolViolation(ILogger logger, long connection, RejectReason reason, string action, string message);

    [LoggerMessage(6, LogLevel.Information, "connection {Connection} closed: {Reason}")]
    public static partial void Closed(ILogger logger, long connection, string reason);

    [LoggerMessage(7, LogLevel.Debug, "connection {Connection}: transport ended ({Reason})")]
    public static partial void TransportEnded(ILogger logger, long connection, string reason);

    [LoggerMessage(8, LogLevel.Error, "connection {Connection}: unexpected failure")]
    public static partial void Bug(ILogger logger, long connection, Exception exception);

    [LoggerMessage(9, LogLevel.Error, "connection {Connection}: executor threw for {Task}")]
    public static partial void ExecutorFault(ILogger logger, long connection, string task, Exception exception);

    [LoggerMessage(10, LogLevel.Debug, "connection {Connection}: dropped {Opcode} with CmdSN {CmdSN} (ExpCmdSN {ExpCmdSN}, MaxCmdSN {MaxCmdSN})")]
    public static partial void CmdSNDropped(ILogger logger, long connection, IscsiOpcode opcode, uint cmdSN, uint expCmdSN, uint maxCmdSN);

    [LoggerMessage(11, LogLevel.Information, "session {Session} reinstated by a new login")]
    public static partial void Reinstating(ILogger logger, string session);

    [LoggerMessage(12, LogLevel.Debug, "connection {Connection}: {Message}")]
    public static partial void Trace(ILogger logger, long connection, string message);

    [LoggerMessage(13, LogLevel.Information, "logout {Connection}: session {Session} ({Reason})")]
    public static partial void LoggedOut(ILogger logger, long connection, string session, string reason);

    [LoggerMessage(14, LogLevel.Warning, "connection {Connection}: {Message}")]
    public static partial void Warning(ILogger logger, long connection, string message);
}
