using System.Text;
using ModelPlatform.Feature.Datasets;

namespace ModelPlatform.Feature.Tests;

/// <summary>Uploads bounded by their shape, not only their bytes: each limit is a 400 that names its line.</summary>
public class UploadLimitTests
{
    private static readonly CsvLimits Small = new(MaxColumnNameLength: 8, MaxColumns: 3, MaxCellCharacters: 10, MaxRows: 2);

    public static TheoryData<string, string, string> OverALimit() => new()
    {
        { "a long column name", "a,long_name\n1,2\n", "Line 1: the name of column 2, \"long_name\", is 9 characters; the most is 8." },
        { "too many columns", "a,b,c,d\n1,2,3,4\n", "Line 1: the header has 4 columns; the most a dataset may have is 3." },
        { "a long cell", "a,b\n1,abcdefghijklmnop\n", "Line 2: a cell is longer than 10 characters" },
        { "an unclosed quote", "a,b\n1,\"abc\n2,3\n4,5\n6,7\n", "a cell is longer than 10 characters" },
        { "too many rows", "a,b\n1,2\n3,4\n5,6\n", "Line 4: the CSV has more than 2 data rows" },
    };

    [Theory]
    [MemberData(nameof(OverALimit))]
    public async Task AnUploadOverALimitIsRefusedNamingItsLine(string what, string csv, string expected)
    {
        var error = await Assert.ThrowsAsync<CsvFormatException>(() =>
            CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), Small, CancellationToken.None));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{what}: {error.Message}");
        Assert.NotNull(error.Line);
    }

    [Fact]
    public async Task AnUploadAtEveryLimitIsAccepted()
    {
        var dataset = await CsvDatasetReader.ReadAsync(
            new MemoryStream(Encoding.UTF8.GetBytes("abcdefgh,b,c\n1,2,abcdefghij\n3,4,5\n")), Small, CancellationToken.None);

        Assert.Equal(2, dataset.Rows.Count);
    }
}
