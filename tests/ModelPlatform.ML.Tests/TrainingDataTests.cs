using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

public class TrainingDataTests
{
    [Theory]
    [InlineData(new[] { "ham", "spam" }, null, "spam")]
    [InlineData(new[] { "no", "yes" }, null, "yes")]
    [InlineData(new[] { "false", "true" }, null, "true")]
    [InlineData(new[] { "0", "1" }, null, "1")]
    [InlineData(new[] { "benign", "malignant" }, "benign", "benign")]
    public void ChoosesThePositiveClass(string[] values, string? requested, string expectedPositive)
    {
        var classes = TrainingData.PositiveClass(values, requested);

        Assert.Equal(expectedPositive, classes[1]);
        Assert.Equal(values.Single(value => value != expectedPositive), classes[0]);
    }

    [Fact]
    public void RejectsBinaryTaskWithThreeLabelValues()
    {
        var error = Assert.Throws<TrainingDataException>(() =>
            TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Binary, SampleData.Iris()));

        Assert.Contains("exactly 2 label values, found 3", error.Message);
    }

    [Fact]
    public void RejectsUnknownLabelColumn()
    {
        var error = Assert.Throws<TrainingDataException>(() =>
            TrainingData.Create(SampleData.IrisColumns, "colour", MLTask.Multiclass, SampleData.Iris()));

        Assert.Contains("'colour' is not in the dataset", error.Message);
    }

    [Fact]
    public void RejectsRegressionOnACategoricalLabel()
    {
        var error = Assert.Throws<TrainingDataException>(() =>
            TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Regression, SampleData.Iris()));

        Assert.Contains("numeric label", error.Message);
    }

    [Fact]
    public void LeavesOutRowsWithoutALabel()
    {
        var rows = SampleData.Iris();
        rows[0] = SampleData.Row(("sepal_length", 1.0), ("sepal_width", 1.0), ("petal_length", 1.0), ("petal_width", 1.0), ("species", null));

        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, rows);

        Assert.Equal(149, data.Rows);
        Assert.Equal(1, data.RowsWithoutLabel);
    }

    [Fact]
    public void NamesTheRowAndColumnOfAValueThatDoesNotFit()
    {
        var rows = SampleData.Iris();
        rows[7] = SampleData.Row(("sepal_length", "tall"), ("sepal_width", 1.0), ("petal_length", 1.0), ("petal_width", 1.0), ("species", "setosa"));

        var error = Assert.Throws<TrainingDataException>(() =>
            TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, rows));

        Assert.Contains("Row 7, column 'sepal_length'", error.Message);
    }
}
