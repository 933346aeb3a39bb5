using System.Collections;
using System.Reflection;

namespace CtlHa.Wire.Tests;

/// <summary>Structural equality for wire records (records compare arrays by reference).</summary>
public static class WireAssert
{
    public static void Equivalent(object? expected, object? actual)
    {
        var difference = Difference(expected, actual, expected?.GetType().Name ?? "null");
        Assert.True(difference is null, difference);
    }

    public static bool AreEquivalent(object? expected, object? actual) =>
        Difference(expected, actual, string.Empty) is null;

    private static string? Difference(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            return expected is null && actual is null ? null : $"{path}: {expected ?? "null"} != {actual ?? "null"}";
        }

        var type = expected.GetType();
        if (type != actual.GetType())
        {
            return $"{path}: type {type.Name} != {actual.GetType().Name}";
        }

        if (type.IsPrimitive || type.IsEnum || type == typeof(string))
        {
            return expected.Equals(actual) ? null : $"{path}: {expected} != {actual}";
        }

        if (expected is IList left && actual is IList right)
        {
            if (left.Count != right.Count)
            {
                return $"{path}: length {left.Count} != {right.Count}";
            }

            for (var i = 0; i < left.Count; i++)
            {
                var d = Difference(left[i], right[i], $"{path}[{i}]");
                if (d is not null)
                {
                    return d;
                }
            }

            return null;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var d = Difference(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
            if (d is not null)
            {
                return d;
            }
        }

        return null;
    }
}
