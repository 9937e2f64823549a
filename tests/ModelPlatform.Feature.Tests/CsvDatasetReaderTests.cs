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
    public async Task InfersTimestampsFromIsoDatesAndTimesInUtcUnlessAnOffsetIsGiven()
    {
        var csv = """
            event_time,day,year,when
            2025-03-01T12:00:00Z,2025-03-01,2025,2025-03-01T12:00:00Z
            2025-03-01 13:30:00+01:00,2025-03-02,2026,yesterday
            2025-03-01T12:00:00.123456,NA,2027,2025-03-03
            """;

        var dataset = await ReadAsync(csv);

        // A year alone is a number, and one value that is no moment makes the column categorical.
        Assert.Equal([ColumnType.Timestamp, ColumnType.Timestamp, ColumnType.Numeric, ColumnType.Categorical], dataset.Columns.Select(c => c.Type));
        Assert.Equal(
            [
                new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero),
                new DateTimeOffset(2025, 3, 1, 12, 30, 0, TimeSpan.Zero),
                new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_560),
            ],
            dataset.Rows.Select(row => row[0]));
        Assert.Null(dataset.Rows[2][1]);
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
    [InlineData("a:b:c\n1:2:3\n", "one column")]
    [InlineData("<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n", "HTML")]
    [InlineData("<?xml version=\"1.0\"?>\n<rows/>\n", "XML")]
    public async Task RejectsBadHeaderNames(string csv, string expected)
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync(csv));

        Assert.Equal(1, error.Line);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,x\"y\n", 3)]
    [InlineData("a,b\n1,\"2\n3,4\n5,6\n", 2)]
    [InlineData("a,b\n1,\"two\nlines\"\n3,x\"y\n", 4)]
    [InlineData("a,b\r\n1,2\r\n3,x\"y", 3)]
    [InlineData("a,b\r\n1,\"2\r\n3,4", 2)]
    [InlineData("a,b\n1,2\n3,x\"y\n4,5\n", 3)]
    public async Task RejectsMalformedQuotingNamingTheLineItsRecordStartsOn(string csv, int line)
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync(csv));

        Assert.Equal(line, error.Line);
    }

    [Theory]
    [InlineData("a,b\n1,x\n2,y\n", ",")]
    [InlineData("a;b\n1;x\n2;y\n", ";")]
    [InlineData("a\tb\n1\tx\n2\ty\n", "\t")]
    [InlineData("a|b\n1|x\n2|y\n", "|")]
    public async Task ReadsTheSeparatorTheFileUsesAndSaysWhichItWas(string csv, string delimiter)
    {
        var dataset = await ReadAsync(csv);

        Assert.Equal(["a", "b"], dataset.Columns.Select(column => column.Name));
        Assert.Equal([1.0, "x"], dataset.Rows[0]);
        Assert.Equal(delimiter, dataset.Delimiter);
    }

    [Fact]
    public async Task RefusesAOneColumnHeaderThatHoldsASeparator()
    {
        // Tabs in the header only: no separator splits the rows the same way, so the file is read as one column.
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync("a\tb\tc\n1 2 3\n4 5 6\n"));

        Assert.Equal(1, error.Line);
        Assert.Contains("one column", error.Message);
        Assert.Contains("'\\t'", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5000)]
    public async Task RefusesBytesThatAreNotUtf8NamingTheLineTheyAreOn(int goodLines)
    {
        // Latin-1 text after many good lines: the decoder fails on a whole block, but the refusal names the byte's line.
        var good = string.Concat(Enumerable.Repeat("Berlin,3645000\n", goodLines));
        byte[] csv = [.. Encoding.UTF8.GetBytes("city,population\n" + good), .. Encoding.Latin1.GetBytes("Z\u00fcrich,421878\n")];

        var error = await Assert.ThrowsAsync<CsvFormatException>(() => CsvDatasetReader.ReadAsync(new MemoryStream(csv), CancellationToken.None));

        Assert.Equal(goodLines + 2, error.Line);
        Assert.StartsWith($"Line {goodLines + 2}: the file is not text", error.Message);
    }

    [Fact]
    public async Task RefusesBinaryBytesAsNotText()
    {
        // A PNG signature followed by random bytes, as an image renamed .csv would be.
        var bytes = new byte[512];
        new Random(3).NextBytes(bytes);
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. bytes];

        var error = await Assert.ThrowsAsync<CsvFormatException>(() => CsvDatasetReader.ReadAsync(new MemoryStream(png), CancellationToken.None));

        Assert.Contains("not text", error.Message);
        Assert.NotNull(error.Line);
    }

    [Fact]
    public async Task RefusesNulCharactersNamingTheLine()
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() => ReadAsync("a,b\n1,x\n2,y\0z\n"));

        Assert.Equal(3, error.Line);
        Assert.Contains("NUL", error.Message);
    }

    [Fact]
    public async Task ReadsUtf16WithAByteOrderMarkAndDropsAUtf8One()
    {
        const string csv = "name,city\n1,Zürich\n2,Kraków\n";
        byte[] utf16 = [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(csv)];
        byte[] utf8 = [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(csv)];

        foreach (var bytes in new[] { utf16, utf8 })
        {
            var dataset = await CsvDatasetReader.ReadAsync(new MemoryStream(bytes), CancellationToken.None);

            Assert.Equal("name", dataset.Columns[0].Name);
            Assert.Equal("Kraków", dataset.Rows[1][1]);
        }
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
