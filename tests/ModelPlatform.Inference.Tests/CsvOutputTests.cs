using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using CsvHelper;
using ModelPlatform.Inference.Protocols;

namespace ModelPlatform.Inference.Tests;

/// <summary>CSV answers are written straight into the response pipe, byte for byte as CsvHelper's writer wrote them.</summary>
public class CsvOutputTests
{
    [Theory]
    [InlineData("setosa")]
    [InlineData("")]
    [InlineData("a,b")]
    [InlineData("say \"hi\"")]
    [InlineData(" padded ")]
    [InlineData("two\nlines")]
    [InlineData("carriage\rreturn")]
    [InlineData("naïve café 東京")]
    public void WritesTextFieldsAsCsvHelperDoes(string label)
    {
        var expected = WithCsvHelper(csv =>
        {
            csv.WriteField(label);
            csv.WriteField("next");
        });

        var written = WithCsvOutput(csv =>
        {
            csv.WriteField(label);
            csv.WriteField("next");
        });

        Assert.Equal(expected, written);
    }

    [Theory]
    [InlineData("=HYPERLINK(\"http://evil\")")]
    [InlineData("+1+cmd|' /C calc'!A0")]
    [InlineData("-2+3")]
    [InlineData("@SUM(A1)")]
    [InlineData("\tleading tab")]
    [InlineData("\rcarriage")]
    public void NeutralisesTextASpreadsheetWouldRunAsAFormulaAsCsvHelperEscapes(string label)
    {
        var expected = WithCsvHelper(csv => csv.WriteField(label), CsvHelper.Configuration.InjectionOptions.Escape);

        var written = WithCsvOutput(csv => csv.WriteField(label));

        Assert.Equal(expected, written);
        Assert.StartsWith("'", written.TrimStart('"'));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("+2.5")]
    [InlineData("-1e-3")]
    public void LeavesNumbersThatStartWithASignAlone(string label)
    {
        Assert.Equal($"{label}\r\n{label}\r\n", WithCsvOutput(csv => csv.WriteField(label)));
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.80187011f)]
    [InlineData(1f)]
    [InlineData(-412.5f)]
    [InlineData(1.17549435E-38f)]
    [InlineData(3.4028235E+38f)]
    public void WritesNumbersInShortestRoundTripForm(float value)
    {
        var expected = WithCsvHelper(csv =>
        {
            csv.WriteField("yes");
            csv.WriteField(value.ToString("R", CultureInfo.InvariantCulture));
        });

        var written = WithCsvOutput(csv =>
        {
            csv.WriteField("yes");
            csv.WriteField(value);
        });

        Assert.Equal(expected, written);
    }

    private static string WithCsvHelper(
        Action<CsvWriter> write, CsvHelper.Configuration.InjectionOptions injection = CsvHelper.Configuration.InjectionOptions.None)
    {
        var text = new StringWriter();
        using (var csv = new CsvWriter(text, new CsvHelper.Configuration.CsvConfiguration(CultureInfo.InvariantCulture) { InjectionOptions = injection }))
        {
            write(csv);
            csv.NextRecord();
            write(csv);
            csv.NextRecord();
        }

        return text.ToString();
    }

    private static string WithCsvOutput(Action<CsvOutput> write)
    {
        var bytes = new MemoryStream();
        var pipe = PipeWriter.Create(bytes);
        var csv = new CsvOutput(pipe);
        write(csv);
        csv.EndRow();
        write(csv);
        csv.EndRow();
        pipe.Complete();
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
