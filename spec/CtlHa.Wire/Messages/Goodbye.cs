using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Last frame before the sender closes the connection (PROTOCOL.md §4.4). Union key 3.
/// The receiver logs it, records it as the link's last rejection reason when it is a
/// LoginMismatch or auth failure, and closes too.
/// </summary>
/// <param name="Reason">Why the sender closes.</param>
/// <param name="Field">LoginMismatch: the first Login field that differed; otherwise None.</param>
/// <param name="SenderValue">LoginMismatch: the sender's own value of <paramref name="Field"/>, as text; else empty.</param>
/// <param name="ReceiverValue">LoginMismatch: the value the receiver announced, as text; else empty.</param>
/// <param name="Detail">Free text for logs, ≤ 256 printable ASCII characters.</param>
[MessagePackObject]
public sealed record Goodbye(
    [property: Key(0)] GoodbyeReason Reason,
    [property: Key(1)] LoginField Field,
    [property: Key(2)] string SenderValue,
    [property: Key(3)] string ReceiverValue,
    [property: Key(4)] string Detail) : InterlinkMessage
{
    /// <summary>A Goodbye without field or values.</summary>
    public static Goodbye Because(GoodbyeReason reason, string detail = "") =>
        new(reason, LoginField.None, string.Empty, string.Empty, detail);

    public override void Validate()
    {
        WireCheck.Defined(Reason, "Goodbye.Reason");
        WireCheck.Defined(Field, "Goodbye.Field");
        if ((Reason == GoodbyeReason.LoginMismatch) != (Field != LoginField.None))
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, "Goodbye.Field must be set exactly when Reason is LoginMismatch");
        }

        WireCheck.Printable(SenderValue, 0, WireLimits.MaxGoodbyeTextLength, "Goodbye.SenderValue");
        WireCheck.Printable(ReceiverValue, 0, WireLimits.MaxGoodbyeTextLength, "Goodbye.ReceiverValue");
        WireCheck.Printable(Detail, 0, WireLimits.MaxGoodbyeTextLength, "Goodbye.Detail");
    }
}
