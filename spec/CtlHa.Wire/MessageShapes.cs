using System.Collections.Frozen;
using System.Reflection;
using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Structural check of a frame before MessagePack's formatters see it. The v2 formatters tolerate
/// missing fields (defaults) and extra fields (skipped); the interlink does not: every object must carry
/// exactly its schema's field count, and a scalar field must not hold a container. That also bounds
/// recursion: nothing deeper than the schema is ever walked (a hostile frame of nested arrays is Malformed).
/// </summary>
internal static class MessageShapes
{
    private enum FieldKind
    {
        Scalar,
        ScalarArray,
        Object,
        ObjectArray,
    }

    private sealed record Field(FieldKind Kind, Shape? Nested);

    private sealed record Shape(string Name, Field[] Fields);

    private static readonly FrozenDictionary<int, (Type Type, Shape Shape)> ByUnionKey = Build();

    public static bool TryGetType(int unionKey, out Type type)
    {
        if (ByUnionKey.TryGetValue(unionKey, out var entry))
        {
            type = entry.Type;
            return true;
        }

        type = typeof(void);
        return false;
    }

    /// <summary>The union key of every message type, for tests and documentation.</summary>
    public static IReadOnlyDictionary<Type, int> UnionKeys { get; } =
        ByUnionKey.ToDictionary(kv => kv.Value.Type, kv => kv.Key);

    /// <summary>Walks <c>[key, [fields…]]</c>; leaves the reader after the object. Throws InterlinkProtocolException.</summary>
    public static Type Check(ref MessagePackReader reader)
    {
        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"frame is a {reader.NextMessagePackType}, not a [type, fields] union array");
        }

        var count = reader.ReadArrayHeader();
        if (count != 2)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"union array has {count} elements, not 2");
        }

        if (reader.NextMessagePackType != MessagePackType.Integer)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"union key is a {reader.NextMessagePackType}, not an integer");
        }

        var key = reader.ReadInt64();
        if (key is < int.MinValue or > int.MaxValue || !ByUnionKey.TryGetValue((int)key, out var entry))
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.UnknownType, $"unknown message type {key}");
        }

        CheckObject(ref reader, entry.Shape);
        return entry.Type;
    }

    private static void CheckObject(ref MessagePackReader reader, Shape shape)
    {
        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"{shape.Name} is a {reader.NextMessagePackType}, not an array");
        }

        var count = reader.ReadArrayHeader();
        if (count != shape.Fields.Length)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"{shape.Name} has {count} fields, expected {shape.Fields.Length}");
        }

        for (var i = 0; i < count; i++)
        {
            var field = shape.Fields[i];
            switch (field.Kind)
            {
                case FieldKind.Scalar:
                    SkipScalar(ref reader, shape.Name, i);
                    break;
                case FieldKind.ScalarArray:
                    if (!reader.TryReadNil())
                    {
                        var n = ReadArrayHeader(ref reader, shape.Name, i);
                        for (var j = 0; j < n; j++)
                        {
                            SkipScalar(ref reader, shape.Name, i);
                        }
                    }

                    break;
                case FieldKind.Object:
                    if (!reader.TryReadNil())
                    {
                        CheckObject(ref reader, field.Nested!);
                    }

                    break;
                case FieldKind.ObjectArray:
                    if (!reader.TryReadNil())
                    {
                        var n = ReadArrayHeader(ref reader, shape.Name, i);
                        for (var j = 0; j < n; j++)
                        {
                            CheckObject(ref reader, field.Nested!);
                        }
                    }

                    break;
            }
        }
    }

    private static int ReadArrayHeader(ref MessagePackReader reader, string shape, int field)
    {
        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"{shape} field {field} is a {reader.NextMessagePackType}, not an array");
        }

        return reader.ReadArrayHeader();
    }

    private static void SkipScalar(ref MessagePackReader reader, string shape, int field)
    {
        var type = reader.NextMessagePackType;
        if (type is MessagePackType.Array or MessagePackType.Map or MessagePackType.Extension or MessagePackType.Unknown)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"{shape} field {field} is a {type}, not a scalar");
        }

        reader.Skip();
    }

    private static FrozenDictionary<int, (Type, Shape)> Build()
    {
        var shapes = new Dictionary<Type, Shape>();
        var result = new Dictionary<int, (Type, Shape)>();
        foreach (var union in typeof(InterlinkMessage).GetCustomAttributes<UnionAttribute>())
        {
            result.Add(union.Key, (union.SubType, ShapeOf(union.SubType, shapes)));
        }

        return result.ToFrozenDictionary();
    }

    private static Shape ShapeOf(Type type, Dictionary<Type, Shape> shapes)
    {
        if (shapes.TryGetValue(type, out var known))
        {
            return known;
        }

        var keyed = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Key: p.GetCustomAttribute<KeyAttribute>()))
            .Where(x => x.Key is not null)
            .OrderBy(x => x.Key!.IntKey)
            .ToArray();
        var fields = new Field[keyed.Length];
        for (var i = 0; i < keyed.Length; i++)
        {
            if (keyed[i].Key!.IntKey != i)
            {
                throw new InvalidOperationException($"{type.Name} keys must be 0..n-1 without gaps");
            }

            var t = keyed[i].Property.PropertyType;
            fields[i] = t switch
            {
                _ when IsObject(t) => new Field(FieldKind.Object, ShapeOf(t, shapes)),
                { IsArray: true } when IsObject(t.GetElementType()!) => new Field(FieldKind.ObjectArray, ShapeOf(t.GetElementType()!, shapes)),
                { IsArray: true } when t != typeof(byte[]) => new Field(FieldKind.ScalarArray, null),
                _ => new Field(FieldKind.Scalar, null),
            };
        }

        var shape = new Shape(type.Name, fields);
        shapes[type] = shape;
        return shape;
    }

    private static bool IsObject(Type t) => t.GetCustomAttribute<MessagePackObjectAttribute>() is not null;
}
