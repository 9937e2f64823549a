using System.Globalization;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using ModelPlatform.Training.Jobs;
using Parquet;
using Parquet.Schema;

namespace ModelPlatform.Training.Tests;

/// <summary>A dataset's Parquet file read into the columns training takes, held no larger than its values need.</summary>
public class ParquetTableTests
{
    private const int RowsPerGroup = 1000;
    private static readonly string[] Plans = ["basic", "plus", "pro"];

    [Fact]
    public async Task RepeatedTextSharesOneStringPerValueAndMissingNumbersReadAsMissing()
    {
        // Arrange: a file of two row groups, a category of three values and numbers with gaps.
        var plan = new DataField<string>("plan", true);
        var tenure = new DataField<double>("tenure", true);
        using var file = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(plan, tenure), file))
        {
            for (var group = 0; group < 2; group++)
            {
                using var rows = writer.CreateRowGroup();
                await rows.WriteAsync(plan, Enumerable.Range(0, RowsPerGroup).Select(i => Plans[i % 3]).ToList(), null);
                await rows.WriteAsync<double>(tenure, Enumerable.Range(0, RowsPerGroup).Select(i => i % 10 == 0 ? null : (double?)i).ToArray(), null);
            }
        }

        // Act
        file.Position = 0;
        var table = await ParquetTable.ReadAsync(file, [new ColumnSchema("plan", ColumnType.Categorical), new ColumnSchema("tenure", ColumnType.Numeric)],
            CancellationToken.None);

        // Assert: every value as written; the category's 2,000 values are three strings.
        var (plans, tenures) = (table[0], table[1]);
        var read = Enumerable.Range(0, plans.Count).Select(plans.CanonicalText).ToList();
        Assert.Equal(Enumerable.Range(0, 2 * RowsPerGroup).Select(i => Plans[i % RowsPerGroup % 3]), read);
        Assert.Equal(3, read.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Null(tenures.CanonicalText(RowsPerGroup + 10));
        Assert.Null(tenures.TryReadNumber(RowsPerGroup + 10, out var missing));
        Assert.True(float.IsNaN(missing));
        Assert.Equal("11", tenures.CanonicalText(RowsPerGroup + 11));
    }

    [Fact]
    public async Task ColumnsOfManyValuesAndWithoutGapsReadAsWritten()
    {
        // Arrange: three row groups of identifiers (more than are coded, some missing), required numbers and required text.
        const int Groups = 3;
        var rows = TextColumnBuilder.MaxCodedValues;
        var id = new DataField<string>("customer_id", true);
        var age = new DataField<double>("age", false);
        var region = new DataField<string>("region", false);
        string?[] ids = [.. Enumerable.Range(0, Groups * rows).Select(i => i % 1000 == 999 ? null : $"c{i}")];
        using var file = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, age, region), file))
        {
            for (var group = 0; group < Groups; group++)
            {
                using var rowGroup = writer.CreateRowGroup();
                await rowGroup.WriteAsync(id, ids[(group * rows)..((group + 1) * rows)], null);
                await rowGroup.WriteAsync<double>(age, Enumerable.Range(group * rows, rows).Select(i => (double)(i % 80)).ToArray(), null);
                await rowGroup.WriteAsync(region, Enumerable.Range(group * rows, rows).Select(i => Plans[i % 3]).ToArray(), null);
            }
        }

        // Act
        file.Position = 0;
        ColumnSchema[] columns =
            [new("customer_id", ColumnType.Categorical), new("age", ColumnType.Numeric), new("region", ColumnType.Categorical)];
        var table = await ParquetTable.ReadAsync(file, columns, CancellationToken.None);

        // Assert
        var all = Enumerable.Range(0, Groups * rows).ToList();
        Assert.Equal(ids, all.Select(table[0].CanonicalText));
        Assert.Equal(all.Select(i => (i % 80).ToString(CultureInfo.InvariantCulture)), all.Select(table[1].CanonicalText));
        Assert.Equal(all.Select(i => Plans[i % 3]), all.Select(table[2].CanonicalText));
    }
}
