using System.Text;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;

namespace ModelPlatform.Feature.Tests;

public class CsvDatasetReaderTests
{
    private static Task<ParsedDataset> ReadAsync(string csv) =>
        CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), CancellationToken.None);

    [Fact]
    public async Task InfersNumericCategoricalTextAndBooleanColumns()
    {
        var csv = """
            age,colour,review,subscribed
            34,red,the product arrived late and broken,true
            41.5,blue,great value for the money,false
            -2e1,red,would not buy this again,TRUE
            """;

        var dataset = await ReadAsync(csv);

        Assert.Equal(
            [
                new ColumnSchema("age", ColumnType.Numeric),
                new ColumnSchema("colour", ColumnType.Categorical),
                new ColumnSchema("review", ColumnType.Text),
                new ColumnSchema("subscribed", ColumnType.Boolean),
            ],
            dataset.Columns);
        Assert.Equal(3, dataset.Rows.Count);
        Assert.Equal([34.0, "red", "the product arrived late and broken", true], dataset.Rows[0]);
        Assert.Equal(-20.0, dataset.Rows[2][0]);
    }

    [Fact]
    public async Task TreatsEmptyCellsAndNaMarkersAsMissingWithoutChangingTheType()
    {
        var csv = """
            x,label
            1.5,a
            ,b
            NA,a
            null,
            """;

        var dataset = await ReadAsync(csv);

        Assert.Equal(ColumnType.Numeric, dataset.Columns[0].Type);
        Assert.Equal(ColumnType.Categorical, dataset.Columns[1].Type);
        Assert.Null(dataset.Rows[1][0]);
        Assert.Null(dataset.Rows[2][0]);
        Assert.Null(dataset.Rows[3][1]);
    }

    [Fact]
    public async Task KeepsQuotedFieldsWithCommasAndNewLines()
    {
        var csv = "id,comment\n1,\"hello, world\"\n2,\"two\nlines\"\n";

        var dataset = await ReadAsync(csv);

        Assert.Equal("hello, world", dataset.Rows[0][1]);
        Assert.Equal("two\nlines", dataset.Rows[1][1]);
    }

    [Fact]
    public async Task RejectsRaggedRowNamingItsLine()
    {
        var csv = "a,b,c\n1,2,3\n4,5\n6,7,8\n";

        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync(csv));

        Assert.Equal(3, error.Line);
        Assert.Contains("Line 3", error.Message);
        Assert.Contains("expected 3 fields", error.Message);
    }

    [Fact]
    public async Task CountsLinesOfMultiLineFieldsWhenNamingARaggedRow()
    {
        var csv = "a,b\n1,\"x\ny\"\n2\n";

        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync(csv));

        Assert.Equal(4, error.Line);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    public async Task RejectsEmptyFile(string csv)
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync(csv));

        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public async Task RejectsHeaderWithoutRows()
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync("a,b\n"));

        Assert.Contains("no data rows", error.Message);
    }

    [Fact]
    public async Task RejectsFileWhoseFirstRowIsData()
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync("5.1,3.5,1.4\n4.9,3.0,1.4\n"));

        Assert.Equal(1, error.Line);
        Assert.Contains("header", error.Message);
    }

    [Theory]
    [InlineData("a,,c\n1,2,3\n", "empty")]
    [InlineData("a,b,a\n1,2,3\n", "more than once")]
    public async Task RejectsBadHeaderNames(string csv, string expected)
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync(csv));

        Assert.Equal(1, error.Line);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task RejectsMalformedQuotingNamingItsLine()
    {
        var csv = "a,b\n1,2\n3,x\"y\n";

        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync(csv));

        Assert.Equal(3, error.Line);
    }

    [Fact]
    public async Task ReadsTheShippedIrisSample()
    {
        await using var iris = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "iris.csv"));

        var dataset = await CsvDatasetReader.ReadAsync(iris, CancellationToken.None);

        Assert.Equal(150, dataset.Rows.Count);
        Assert.Equal(4, dataset.Columns.Count(column => column.Type == ColumnType.Numeric));
        Assert.Equal(new ColumnSchema("species", ColumnType.Categorical), dataset.Columns[4]);
    }
}
