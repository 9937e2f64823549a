using System.Globalization;
using System.IO.Pipelines;
using System.Text;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// Writes CSV answers straight into the response's pipe as UTF-8: no text writer with its large buffers, no string per
/// number. Fields are quoted as CsvHelper quotes them (RFC 4180): when they hold a quote, a comma or a line break, or
/// begin or end with a space; a quote inside is doubled. Text that a spreadsheet would run as a formula (it starts with
/// <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a carriage return) is neutralised with a leading <c>'</c>, as CsvHelper's
/// <c>InjectionOptions.Escape</c> does (OWASP's advice); a number such as <c>-1</c> is left as it is.
/// </summary>
internal sealed class CsvOutput(PipeWriter pipe)
{
    private bool _fieldWritten;

    public void WriteField(string field)
    {
        WriteSeparator();
        var quote = NeedsQuotes(field);
        if (IsFormula(field))
        {
            // Quoted as well, as CsvHelper does, so the mark stays part of the field in every reader.
            field = "'" + field;
            quote = true;
        }

        if (!quote)
        {
            Encoding.UTF8.GetBytes(field, pipe);
            return;
        }

        Write((byte)'"');
        Encoding.UTF8.GetBytes(field.Replace("\"", "\"\"", StringComparison.Ordinal), pipe);
        Write((byte)'"');
    }

    /// <summary>A number in its shortest round-trip form, as <c>ToString("R")</c> writes it.</summary>
    public void WriteField(float value)
    {
        WriteSeparator();
        var span = pipe.GetSpan(32);
        if (!value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"Could not format {value}.");
        }

        pipe.Advance(written);
    }

    /// <summary>Ends the row with CsvHelper's line ending, <c>\r\n</c>.</summary>
    public void EndRow()
    {
        var span = pipe.GetSpan(2);
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
        pipe.Advance(2);
        _fieldWritten = false;
    }

    private void WriteSeparator()
    {
        if (_fieldWritten)
        {
            Write((byte)',');
        }

        _fieldWritten = true;
    }

    private void Write(byte value)
    {
        pipe.GetSpan(1)[0] = value;
        pipe.Advance(1);
    }

    private static bool IsFormula(string field) =>
        field.Length > 0 && field[0] is '=' or '+' or '-' or '@' or '\t' or '\r'
        && !double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static bool NeedsQuotes(string field) =>
        field.Length > 0 && (field[0] == ' ' || field[^1] == ' ' || field.AsSpan().IndexOfAny("\",\r\n") >= 0);
}
