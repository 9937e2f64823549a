using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;

namespace ModelPlatform.Feature.Tests;

public sealed class SampleColumnsTests
{
    private static readonly DatasetVersionInfo Version = new("churn", 3, 100,
        [new("amount", ColumnType.Numeric), new("member", ColumnType.Boolean), new("channel", ColumnType.Categorical)],
        "sha", DateTimeOffset.UnixEpoch);

    [Fact]
    public void ValuesAreTypedByTheVersionsColumnsAsItsOwnAreRead()
    {
        var sample = Sample(("amount", "[1.5, null, 2]"), ("member", "[true, false, null]"), ("channel", """["web", null]"""));

        var (columns, problems) = SampleColumns.Read(sample, Version);

        Assert.Empty(problems);
        Assert.Equal((2L, 1L), (columns![0].Count, columns[0].Missing));
        Assert.Equal([1.5, 2.0], columns[0].SortedValues.ToArray());
        Assert.Equal(new Dictionary<string, long> { ["true"] = 1, ["false"] = 1 }, columns[1].LabelCounts);
        Assert.Equal((1L, 1L), (columns[2].Count, columns[2].Missing));
    }

    [Fact]
    public void AColumnTheVersionDoesNotHaveOrGivenTwiceIsNamed()
    {
        var (columns, problems) = SampleColumns.Read(Sample(("amount", "[1]"), ("amounts", "[1]"), ("amount", "[2]")), Version);

        Assert.Null(columns);
        Assert.Equal(["columns[1].name", "columns[2].name"], problems.Keys);
        Assert.Contains("not a column of churn v3", problems["columns[1].name"][0]);
    }

    [Fact]
    public void AValueOfTheWrongKindIsNamedByItsPlace()
    {
        var (columns, problems) = SampleColumns.Read(Sample(("amount", """[1, "2"]"""), ("member", "[1]"), ("channel", "[null, 7]")), Version);

        Assert.Null(columns);
        Assert.Equal(["columns[0].values[1]", "columns[1].values[0]", "columns[2].values[1]"], problems.Keys);
        Assert.Equal("must be true, false or null: 'member' is a boolean column", problems["columns[1].values[0]"][0]);
    }

    [Fact]
    public void ASampleOfNoColumnsIsRefused()
    {
        var (columns, problems) = SampleColumns.Read(new SampleDriftRequest([]), Version);

        Assert.Null(columns);
        Assert.Equal(["columns"], problems.Keys);
    }

    private static SampleDriftRequest Sample(params (string Name, string Values)[] columns) =>
        new([.. columns.Select(column => new ColumnSample(column.Name, JsonSerializer.Deserialize<JsonElement[]>(column.Values)!))]);
}
