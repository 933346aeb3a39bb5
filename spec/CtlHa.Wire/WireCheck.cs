using System.Diagnostics.CodeAnalysis;

namespace CtlHa.Wire;

/// <summary>Bounds checks used by every <see cref="InterlinkMessage.Validate"/>; failures name the field and the limit.</summary>
internal static class WireCheck
{
    public static void Range(ulong value, ulong min, ulong max, string field)
    {
        if (value < min || value > max)
        {
            Fail(InterlinkErrorKind.OutOfRange, $"{field}={value} outside [{min}, {max}]");
        }
    }

    public static void NonZero(ulong value, string field)
    {
        if (value == 0)
        {
            Fail(InterlinkErrorKind.OutOfRange, $"{field} must not be 0");
        }
    }

    public static void Defined<TEnum>(TEnum value, string field)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            Fail(InterlinkErrorKind.OutOfRange, $"{field}={Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture)} is not a defined {typeof(TEnum).Name}");
        }
    }

    public static byte[] Bytes([NotNull] byte[]? value, int min, int max, string field)
    {
        if (value is null)
        {
            Fail(InterlinkErrorKind.Malformed, $"{field} is nil");
        }

        if (value.Length < min || value.Length > max)
        {
            Fail(InterlinkErrorKind.OutOfRange, $"{field} length {value.Length} outside [{min}, {max}]");
        }

        return value;
    }

    public static void BytesOneOf([NotNull] byte[]? value, int a, int b, string field)
    {
        Bytes(value, Math.Min(a, b), Math.Max(a, b), field);
        if (value.Length != a && value.Length != b)
        {
            Fail(InterlinkErrorKind.OutOfRange, $"{field} length {value.Length} must be {a} or {b}");
        }
    }

    public static void NotNull<T>([NotNull] T? value, string field)
        where T : class
    {
        if (value is null)
        {
            Fail(InterlinkErrorKind.Malformed, $"{field} is nil");
        }
    }

    /// <summary>Printable ASCII (0x20..0x7E) of bounded length; keeps log lines and names unambiguous.</summary>
    public static void Printable([NotNull] string? value, int min, int max, string field)
    {
        NotNull(value, field);
        if (value.Length < min || value.Length > max)
        {
            Fail(InterlinkErrorKind.OutOfRange, $"{field} length {value.Length} outside [{min}, {max}]");
        }

        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7E)
            {
                Fail(InterlinkErrorKind.OutOfRange, $"{field} contains a character outside printable ASCII");
            }
        }
    }

    [DoesNotReturn]
    public static void Fail(InterlinkErrorKind kind, string message) =>
        throw new InterlinkProtocolException(kind, message);
}
