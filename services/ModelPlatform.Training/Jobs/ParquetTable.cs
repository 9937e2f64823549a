using System.Globalization;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using Parquet;
using Parquet.Schema;

namespace ModelPlatform.Training.Jobs;

/// <summary>Reads a dataset version's Parquet file, as the feature service writes it, into the columns training reads.</summary>
public static class ParquetTable
{
    public static async Task<IReadOnlyList<TableColumn>> ReadAsync(Stream file, IReadOnlyList<ColumnSchema> columns, CancellationToken cancellationToken)
    {
        await using var reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken);
        var groups = Enumerable.Range(0, reader.RowGroupCount).Select(reader.OpenRowGroupReader).ToList();
        try
        {
            var rows = (int)groups.Sum(group => group.RowCount);
            var table = new List<TableColumn>(columns.Count);
            foreach (var column in columns)
            {
                var field = reader.Schema.DataFields.FirstOrDefault(field => field.Name == column.Name)
                    ?? throw new InvalidDataException($"The dataset file has no column '{column.Name}'.");
                table.Add(column.Type switch
                {
                    ColumnType.Numeric => TableColumn.Of(column, await ReadNumbersAsync(groups, field, rows, cancellationToken)),
                    ColumnType.Boolean => TableColumn.Of(column, await ReadAsync<bool>(groups, field, rows, cancellationToken)),
                    ColumnType.Timestamp => TableColumn.Of(column, [.. (await ReadAsync<DateTime>(groups, field, rows, cancellationToken))
                        .Select(time => time?.ToString("O", CultureInfo.InvariantCulture))]),
                    _ => await ReadTextAsync(groups, field, column, rows, cancellationToken),
                });
            }

            return table;
        }
        finally
        {
            groups.ForEach(group => group.Dispose());
        }
    }

    private static async Task<T?[]> ReadAsync<T>(List<ParquetRowGroupReader> groups, DataField field, int rows, CancellationToken cancellationToken)
        where T : struct
    {
        var values = new T?[rows];
        var offset = 0;
        foreach (var group in groups)
        {
            await group.ReadAsync(field, values.AsMemory(offset, (int)group.RowCount), null, cancellationToken);
            offset += (int)group.RowCount;
        }

        return values;
    }

    /// <summary>
    /// Numbers as doubles, NaN where missing, each row group's values read straight into their place in the column and
    /// spread over the rows they belong to (from the last, so none is overwritten before it moves): no buffer the size of
    /// the data, and no double? (16 bytes a value).
    /// </summary>
    private static async Task<double[]> ReadNumbersAsync(List<ParquetRowGroupReader> groups, DataField field, int rows, CancellationToken cancellationToken)
    {
        var values = new double[rows];
        var levels = field.MaxDefinitionLevel > 0 ? new int[MostRows(groups)] : null;
        var offset = 0;
        foreach (var group in groups)
        {
            var count = (int)group.RowCount;
            var slice = values.AsMemory(offset, count);
            await group.ReadValuesAsync(slice, field, levels, count, cancellationToken);
            if (levels is not null)
            {
                var present = levels.AsSpan(0, count).Count(field.MaxDefinitionLevel);
                var span = slice.Span;
                for (var row = count - 1; row >= 0; row--)
                {
                    span[row] = levels[row] == field.MaxDefinitionLevel ? span[--present] : double.NaN;
                }
            }

            offset += count;
        }

        return values;
    }

    /// <summary>
    /// Text through <see cref="TextColumnBuilder"/>, each row group's values read as characters into one buffer: Parquet.Net
    /// makes a string of every value it reads as a string, even of a column of three categories.
    /// </summary>
    private static async Task<TableColumn> ReadTextAsync(
        List<ParquetRowGroupReader> groups, DataField field, ColumnSchema column, int rows, CancellationToken cancellationToken)
    {
        var builder = new TextColumnBuilder(column, rows);
        var values = new ReadOnlyMemory<char>[MostRows(groups)];
        var levels = field.MaxDefinitionLevel > 0 ? new int[values.Length] : null;
        foreach (var group in groups)
        {
            var count = (int)group.RowCount;
            await group.ReadValuesAsync(values.AsMemory(0, count), field, levels, count, cancellationToken);
            var next = 0;
            for (var row = 0; row < count; row++)
            {
                if (levels is not null && levels[row] != field.MaxDefinitionLevel)
                {
                    builder.AddMissing();
                }
                else
                {
                    builder.Add(values[next++].Span);
                }
            }
        }

        // The characters of the last row group's values are garbage now, not the column's.
        Array.Clear(values);
        return builder.Build();
    }

    private static int MostRows(List<ParquetRowGroupReader> groups) => groups.Count == 0 ? 0 : (int)groups.Max(group => group.RowCount);

    /// <summary>A row group's values without their gaps, and where there are gaps, each row's definition level.</summary>
    private static ValueTask ReadValuesAsync<T>(
        this ParquetRowGroupReader group, Memory<T> values, DataField field, int[]? levels, int count, CancellationToken cancellationToken)
        where T : struct =>
        group.ReadRawAsync(field, values, levels?.AsMemory(0, count), null, cancellationToken);
}
