using ModelPlatform.Contracts;
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
    public async Task RepeatedTextSharesOneStringPerRowGroupAndMissingNumbersReadAsMissing()
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

        // Assert: every value as written; the category's 2,000 values are at most three strings a row group.
        var (plans, tenures) = (table[0], table[1]);
        var read = Enumerable.Range(0, plans.Count).Select(plans.CanonicalText).ToList();
        Assert.Equal(Enumerable.Range(0, 2 * RowsPerGroup).Select(i => Plans[i % RowsPerGroup % 3]), read);
        Assert.InRange(read.Distinct(ReferenceEqualityComparer.Instance).Count(), 3, 2 * 3);
        Assert.Null(tenures.CanonicalText(RowsPerGroup + 10));
        Assert.Null(tenures.TryReadNumber(RowsPerGroup + 10, out var missing));
        Assert.True(float.IsNaN(missing));
        Assert.Equal("11", tenures.CanonicalText(RowsPerGroup + 11));
    }
}
