using System.Text;
using ModelPlatform.Inference.Protocols;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Tests;

/// <summary>CSV rows read against the churn signature (age numeric, plan categorical, active boolean), header by name.</summary>
public class CsvRowsTests
{
    private static CsvRows Rows(string csv) => new(new MemoryStream(Encoding.UTF8.GetBytes(csv)), TestModels.Churn.Inputs);

    [Fact]
    public async Task ReadsColumnsByTheirHeaderNamesInAnyOrder()
    {
        using var rows = Rows("id,active,plan,age\n7,true,pro,34\n8,false,basic,\n");
        Assert.Empty(await rows.ReadHeaderAsync());
        var first = ModelRecord.Empty(3);
        var second = ModelRecord.Empty(3);

        Assert.True(await rows.ReadAsync(first, errors: null));
        Assert.True(await rows.ReadAsync(second, errors: null));
        Assert.False(await rows.ReadAsync(ModelRecord.Empty(3), errors: null));

        Assert.Equal((34f, "pro", 1f), (first.Numbers[0], first.Texts[1], first.Numbers[2]));
        Assert.True(float.IsNaN(second.Numbers[0]));
        Assert.Equal(("basic", 0f), (second.Texts[1], second.Numbers[2]));
    }

    [Fact]
    public async Task AReusedRecordKeepsNothingOfThePreviousRow()
    {
        using var rows = Rows("age,plan,active\n34,pro,true\nNA,,\n");
        await rows.ReadHeaderAsync();
        var record = ModelRecord.Empty(3);

        await rows.ReadAsync(record, errors: null);
        await rows.ReadAsync(record, errors: null);

        Assert.True(float.IsNaN(record.Numbers[0]));
        Assert.Equal("", record.Texts[1]);
        Assert.True(float.IsNaN(record.Numbers[2]));
    }

    [Fact]
    public async Task NamesEveryBadCellAndRaggedRowByLine()
    {
        using var rows = Rows("age,plan,active\nold,pro,maybe\n1,pro\n2,pro,true\n");
        await rows.ReadHeaderAsync();
        var errors = new Dictionary<string, string[]>();
        var record = ModelRecord.Empty(3);

        while (await rows.ReadAsync(record, errors))
        {
        }

        Assert.Equal(["line 2.active", "line 2.age", "line 3"], errors.Keys.Order());
        Assert.Contains("expected a number", errors["line 2.age"][0]);
        Assert.Contains("has 2 fields; the header has 3", errors["line 3"][0]);
    }

    [Fact]
    public async Task SaysWhichColumnsTheHeaderLacks()
    {
        using var rows = Rows("age,colour\n1,red\n");

        var problems = await rows.ReadHeaderAsync();

        Assert.Equal(["header.plan", "header.active"], problems.Select(problem => problem.Key));
    }
}
