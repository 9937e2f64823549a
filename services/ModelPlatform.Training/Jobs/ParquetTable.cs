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
                    ColumnType.Numeric => TableColumn.Of(column, await ReadAsync<double>(groups, field, rows, cancellationToken)),
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

    private static async Task<string?[]> ReadTextAsync(List<ParquetRowGroupReader> groups, DataField field, int rows, CancellationToken cancellationToken)
    {
        var values = new string?[rows];
        var offset = 0;
        foreach (var group in groups)
        {
            await group.ReadAsync(field, values.AsMemory(offset, (int)group.RowCount)!, null, cancellationToken);
            offset += (int)group.RowCount;
        }

        return values;
    }
}
