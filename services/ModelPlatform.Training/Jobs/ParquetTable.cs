using System.Globalization;
using System.Runtime.InteropServices;
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
                    _ => TableColumn.Of(column, await ReadTextAsync(groups, field, rows, cancellationToken)),
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

    /// <summary>Numbers as doubles, NaN where missing, read a row group at a time through one buffer of double? (16 bytes a value).</summary>
    private static async Task<double[]> ReadNumbersAsync(List<ParquetRowGroupReader> groups, DataField field, int rows, CancellationToken cancellationToken)
    {
        var values = new double[rows];
        var buffer = new double?[groups.Count == 0 ? 0 : groups.Max(group => group.RowCount)];
        var offset = 0;
        foreach (var group in groups)
        {
            var count = (int)group.RowCount;
            await group.ReadAsync(field, buffer.AsMemory(0, count), null, cancellationToken);
            for (var i = 0; i < count; i++)
            {
                values[offset + i] = buffer[i] ?? double.NaN;
            }

            offset += count;
        }

        return values;
    }

    private static async Task<string?[]> ReadTextAsync(List<ParquetRowGroupReader> groups, DataField field, int rows, CancellationToken cancellationToken)
    {
        var values = new string?[rows];
        var offset = 0;
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var count = (int)group.RowCount;
            await group.ReadAsync(field, values.AsMemory(offset, count)!, null, cancellationToken);
            // Parquet.Net makes a string of every value, even of a column of three categories: within a row group, equal
            // values keep one of them, so a column of few values costs its references rather than a string a row.
            shared.Clear();
            for (var i = offset; i < offset + count; i++)
            {
                if (values[i] is { } value)
                {
                    ref var kept = ref CollectionsMarshal.GetValueRefOrAddDefault(shared, value, out var seen);
                    values[i] = seen ? kept : kept = value;
                }
            }

            offset += count;
        }

        return values;
    }
}
