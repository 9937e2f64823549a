using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>Text read from a columnar file is held as codes while it has few values, and as UTF-8 once it has many.</summary>
public class TextColumnBuilderTests
{
    [Fact]
    public void AColumnOfFewValuesKeepsOneStringPerValue()
    {
        // Arrange
        string?[] values = ["basic", null, "plus", "basic", "", "pro", "plus", null];
        var builder = new TextColumnBuilder(new ColumnSchema("plan", ColumnType.Categorical), values.Length);

        // Act
        var column = Build(builder, values);

        // Assert: every value as given, and equal values are one string.
        Assert.Equal(values, Enumerable.Range(0, values.Length).Select(column.CanonicalText));
        Assert.Same(column.CanonicalText(0), column.CanonicalText(3));
        Assert.Equal((5, 3, "basic"), column.CountValues([.. Enumerable.Range(0, values.Length)]));
        Assert.Null(column.TryReadText(1, out var missing));
        Assert.Equal(string.Empty, missing);
        Assert.Equal("expected a number or null, got the string \"pro\"", column.TryReadNumber(5, out _));
        Assert.Null(column.TryReadNumber(7, out var nothing));
        Assert.True(float.IsNaN(nothing));
    }

    [Fact]
    public void AColumnOfManyValuesIsHeldAsUtf8AndReadsBackAsGiven()
    {
        // Arrange: more values than are coded, some repeated, some missing or empty, some outside ASCII, on both sides of
        // the switch to UTF-8.
        var rows = TextColumnBuilder.MaxCodedValues * 8;
        var values = Enumerable.Range(0, rows).Select(i => i % 97 == 0 ? null : i % 89 == 0 ? "" : $"é{i / 2}日").ToArray();
        var builder = new TextColumnBuilder(new ColumnSchema("customer_id", ColumnType.Categorical), rows);

        // Act
        var before = GC.GetAllocatedBytesForCurrentThread();
        var column = Build(builder, values);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert: every value as given, in about its bytes and an end a row (a string a row takes 40 bytes and more).
        Assert.Equal(values, Enumerable.Range(0, rows).Select(column.CanonicalText));
        Assert.True(allocated < 40L * rows, $"{allocated:N0} bytes allocated for {rows:N0} rows ({(double)allocated / rows:F1} a row)");
        var present = values.Where(value => value is { Length: > 0 }).ToList();
        var all = Enumerable.Range(0, rows).ToList();
        Assert.Equal((present.Count, present.Distinct().Count(), present[0]), column.CountValues(all));
        Assert.Equal((present.Count, 2, present[0]), column.CountValues(all, distinctLimit: 2));
        Assert.Null(column.TryReadText(0, out var missing));
        Assert.Equal(string.Empty, missing);
        Assert.Null(column.TryReadText(rows - 1, out var last));
        Assert.Equal(values[^1] ?? string.Empty, last);
    }

    [Fact]
    public void AColumnOfOneValueRepeatedAsUtf8CountsOneValue()
    {
        // Arrange: distinct values first, so the column turns to UTF-8, then one of them over and over.
        var rows = TextColumnBuilder.MaxCodedValues * 2;
        var values = Enumerable.Range(0, rows).Select(i => i <= TextColumnBuilder.MaxCodedValues ? $"v{i}" : "v7").ToArray();
        var column = Build(new TextColumnBuilder(new ColumnSchema("x", ColumnType.Text), rows), values);
        var repeated = Enumerable.Range(TextColumnBuilder.MaxCodedValues + 1, rows - TextColumnBuilder.MaxCodedValues - 1).Append(7).ToList();

        // Act
        var counted = column.CountValues(repeated);
        var constant = column.CountValues(repeated, distinctLimit: 2);

        // Assert
        Assert.Equal((repeated.Count, 1, "v7"), counted);
        Assert.Equal(counted, constant);
    }

    [Fact]
    public void AColumnGivenTooFewRowsIsRefused()
    {
        var builder = new TextColumnBuilder(new ColumnSchema("plan", ColumnType.Categorical), 2);
        builder.Add("basic");

        Assert.Throws<InvalidOperationException>(builder.Build);
    }

    private static TableColumn Build(TextColumnBuilder builder, IEnumerable<string?> values)
    {
        foreach (var value in values)
        {
            if (value is null)
            {
                builder.AddMissing();
            }
            else
            {
                builder.Add(value);
            }
        }

        return builder.Build();
    }
}
