using System.Text;
using CsCheck;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Tests;

namespace ModelPlatform.Feature.Tests;

/// <summary>
/// Generated hostile uploads: iris with a few random edits each. Every one is read as a dataset or refused with a
/// <see cref="CsvFormatException"/> (a 400 naming the line), never with any other exception (a 500). Bounded and seeded.
/// </summary>
public class GeneratedCsvTests
{
    private const int Cases = 2000;

    private static readonly byte[] Iris = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "iris.csv"))[..2000];

    [Fact]
    public void AnyUploadIsReadOrRefusedNamingItsProblem()
    {
        Gen.Int.Sample(seed =>
        {
            try
            {
                var dataset = CsvDatasetReader.ReadAsync(new MemoryStream(Mutations.Mutate(Iris, seed)), CancellationToken.None).GetAwaiter().GetResult();
                Assert.All(dataset.Rows, row => Assert.Equal(dataset.Columns.Count, row.Length));
            }
            catch (CsvFormatException error)
            {
                Assert.False(string.IsNullOrWhiteSpace(error.Message));
            }
        }, iter: Cases, print: seed => Encoding.UTF8.GetString(Mutations.Mutate(Iris, seed)));
    }
}
