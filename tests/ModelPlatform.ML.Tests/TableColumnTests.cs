using System.Text.Json;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>Training reads a dataset's columns as typed arrays (from its Parquet file) exactly as it reads JSON rows.</summary>
public class TableColumnTests
{
    [Fact]
    public void TypedColumnsTrainTheSameModelAsTheRowsTheyHold()
    {
        var rows = SampleData.Churn(300);
        var settings = new TrainingSettings("FastTree");

        var fromRows = ModelTrainer.Train(TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, rows), settings);
        var fromColumns = ModelTrainer.Train(TrainingData.Create(Typed(SampleData.ChurnColumns, rows), "churned", MLTask.Binary), settings);

        Assert.Equal(fromRows.Signature.Inputs, fromColumns.Signature.Inputs);
        Assert.Equal(fromRows.Signature.Classes, fromColumns.Signature.Classes);
        Assert.Equal(fromRows.DroppedColumns, fromColumns.DroppedColumns);
        Assert.Equal(fromRows.Metrics, fromColumns.Metrics);
    }

    [Fact]
    public void ATimestampColumnIsLeftOutWithItsReason()
    {
        var rows = SampleData.Churn(100);
        var start = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var times = Enumerable.Range(0, rows.Count).Select(i => (string?)start.AddHours(i).ToString("O")).ToArray();
        var table = Typed(SampleData.ChurnColumns, rows).Append(TableColumn.Of(new ColumnSchema("signed_up_at", ColumnType.Timestamp), times)).ToList();

        var data = TrainingData.Create(table, "churned", MLTask.Binary);

        var dropped = Assert.Single(data.DroppedColumns, column => column.Name == "signed_up_at");
        Assert.Contains("timestamp", dropped.Reason);
        Assert.DoesNotContain(data.Signature.Inputs, input => input.Name == "signed_up_at");
    }

    [Fact]
    public void AColumnTheCallerExcludesIsLeftOutWithTheCallersReason()
    {
        var rows = SampleData.Churn(100);
        var table = Typed(SampleData.ChurnColumns, rows);
        var key = table.First(column => column.Schema.Name != "churned").Schema.Name;

        var data = TrainingData.Create(table, "churned", MLTask.Binary, excluded: [new DroppedColumn(key, "an entity key"), new DroppedColumn("absent", "x")]);

        Assert.Equal(new DroppedColumn(key, "an entity key"), data.DroppedColumns[0]);
        Assert.DoesNotContain(data.DroppedColumns, column => column.Name == "absent");
        Assert.DoesNotContain(data.Signature.Inputs, input => input.Name == key);
    }

    [Fact]
    public void AValueOfTheWrongTypeNamesItsRowAndColumn()
    {
        var column = TableColumn.Of(new ColumnSchema("tenure", ColumnType.Numeric), ["12", "13"]);
        var label = TableColumn.Of(new ColumnSchema("churned", ColumnType.Categorical), ["yes", "no"]);

        var error = Assert.Throws<TrainingDataException>(() => TrainingData.Create([column, label], "churned", MLTask.Binary));

        Assert.Equal("Row 0, column 'tenure': expected a number or null, got the string \"12\".", error.Message);
    }

    [Fact]
    public void NumbersAreCountedAsTheirTextWouldBeWithoutMakingAStringARow()
    {
        // Arrange: repeated numbers, a missing one (NaN), and zero with both signs, which are two texts ("0" and "-0").
        var values = Enumerable.Range(0, 100_000).Select(i => i % 1000 * 0.1).Append(double.NaN).Append(0.0).Append(-0.0).ToArray();
        var column = TableColumn.Of(new ColumnSchema("x", ColumnType.Numeric), values);
        var rows = Enumerable.Range(0, values.Length).ToList();
        var texts = rows.Select(column.CanonicalText).OfType<string>().ToList();

        // Act
        var before = GC.GetAllocatedBytesForCurrentThread();
        var counted = column.CountValues(rows);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert: what the texts say, counted in 8 bytes a row (a string a row took 30 and more, several times the column).
        Assert.Equal((texts.Count, texts.Distinct(StringComparer.Ordinal).Count(), texts[0]), counted);
        Assert.True(allocated < 12L * values.Length, $"{allocated:N0} bytes allocated for {values.Length:N0} rows");
    }

    [Fact]
    public void WhetherNumbersAreConstantIsFoundWithoutACopyOfThem()
    {
        // Arrange: one number over and over, with missing ones, and a second number at the very end.
        var values = Enumerable.Range(0, 100_000).Select(i => i % 7 == 0 ? double.NaN : 2.5).Append(3.0).ToArray();
        var column = TableColumn.Of(new ColumnSchema("x", ColumnType.Numeric), values);
        var rows = Enumerable.Range(0, values.Length).ToList();
        var allButLast = rows[..^1];
        var texts = rows.Select(column.CanonicalText).OfType<string>().ToList();

        // Act: the same passes three times. What they allocate is the same every time; the runtime may now and then
        // allocate on this thread in between (an event it raises here, with the other tests of the run listening), so the
        // fewest bytes of the three are the passes' own.
        var ((all, withLast), allocated) = Enumerable.Range(0, 3)
            .Select(_ =>
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var counts = (column.CountValues(allButLast, distinctLimit: 2), column.CountValues(rows, distinctLimit: 2));
                return (counts, GC.GetAllocatedBytesForCurrentThread() - before);
            })
            .MinBy(pass => pass.Item2);

        // Assert: constant, then not, told in a pass that allocates nothing a row.
        Assert.Equal((texts.Count - 1, 1, "2.5"), all);
        Assert.Equal((texts.Count, 2, "2.5"), withLast);
        Assert.True(allocated < 1024, $"{allocated:N0} bytes allocated for {values.Length:N0} rows");
    }

    [Fact]
    public void TrainingDataReadsTheTableRatherThanCopyingIt()
    {
        // Arrange: 100,000 rows of four categories and a boolean label, as typed columns.
        const int Rows = 100_000;
        string[] categories = ["basic", "plus", "pro"];
        var table = Enumerable.Range(0, 4)
            .Select(c => TableColumn.Of(new ColumnSchema($"c{c}", ColumnType.Categorical), [.. Enumerable.Range(0, Rows).Select(i => categories[(i + c) % 3])]))
            .Append(TableColumn.Of(new ColumnSchema("label", ColumnType.Boolean), [.. Enumerable.Range(0, Rows).Select(i => (bool?)(i % 2 == 0))]))
            .ToList();

        // Act
        var before = GC.GetAllocatedBytesForCurrentThread();
        var data = TrainingData.Create(table, "label", MLTask.Binary);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert: the view reads the table's values; making it took the label's texts and encoding, not a copy of the four
        // inputs (16 bytes a value each, as ML.NET's text, when they were copied).
        var read = data.View.GetColumn<ReadOnlyMemory<char>>("c2").Select(text => text.ToString());
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => categories[(i + 2) % 3]), read);
        Assert.True(allocated < 32L * Rows, $"{allocated:N0} bytes allocated for {Rows:N0} rows");
    }

    /// <summary>The rows' values as the typed arrays a Parquet file gives.</summary>
    private static IReadOnlyList<TableColumn> Typed(IReadOnlyList<ColumnSchema> columns, List<IReadOnlyDictionary<string, JsonElement>> rows) =>
        [.. columns.Select(column => column.Type switch
        {
            ColumnType.Numeric => TableColumn.Of(column, rows.Select(row => Value(row, column) is { ValueKind: JsonValueKind.Number } v
                ? v.GetDouble() : (double?)null).ToArray()),
            ColumnType.Boolean => TableColumn.Of(column, rows.Select(row => Value(row, column) is { ValueKind: JsonValueKind.True or JsonValueKind.False } v
                ? v.GetBoolean() : (bool?)null).ToArray()),
            _ => TableColumn.Of(column, rows.Select(row => Value(row, column) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null).ToArray()),
        })];

    private static JsonElement Value(IReadOnlyDictionary<string, JsonElement> row, ColumnSchema column) =>
        row.TryGetValue(column.Name, out var value) ? value : default;
}
