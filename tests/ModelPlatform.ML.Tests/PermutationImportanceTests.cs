using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>
/// Permutation importance ranks the columns a model relies on above those it does not, and speaks in the user's
/// columns: a one-hot category and a featurized text are each one column, never their slots.
/// </summary>
public sealed class PermutationImportanceTests
{
    [Fact]
    public void ThePriceLeansOnAreaThenDistrictThenRooms()
    {
        // price = 3 × area (90 to 450) + a district premium (0 to 120) + 10 × rooms (10 to 50) + noise.
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(1_000));

        var model = ModelTrainer.Train(data, new TrainingSettings("FastTree"));

        var importance = model.Importance!;
        Assert.Equal(["area", "district", "rooms"], importance.Columns.Select(column => column.Column));
        Assert.Equal("r2", importance.Metric);
        Assert.Equal("permutation", importance.Method);
        Assert.Equal(model.Evaluation.Rows, importance.Rows);
        Assert.InRange(importance.Rows, 150, 250);
        Assert.Equal(PermutationImportance.Permutations, importance.Permutations);
        // Shuffling the area leaves little of the fit; the rooms' share of the price is small but real.
        Assert.True(importance.Columns[0].Mean > 0.5, $"area: {importance.Columns[0].Mean}");
        Assert.True(importance.Columns[2].Mean > 0, $"rooms: {importance.Columns[2].Mean}");
    }

    [Fact]
    public void AComplaintInATicketsTextMattersMost()
    {
        // A complaint weighs more in the churn rule than a short tenure or a basic plan without autopay.
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(1_500));

        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression"));

        // One entry per input column the model takes (the customer id, an identifier, is not one), whatever its slots.
        var importance = model.Importance!;
        Assert.Equal(model.Signature.Inputs.Select(input => input.Name).Order(), importance.Columns.Select(column => column.Column).Order());
        Assert.DoesNotContain(importance.Columns, column => column.Column == "customer_id");
        Assert.Equal("auc", importance.Metric);
        Assert.Equal("last_ticket", importance.Columns[0].Column);
        Assert.True(importance.Columns[0].Mean > 0.05, $"last_ticket: {importance.Columns[0].Mean}");
    }

    [Fact]
    public void TheSameSeedMeasuresTheSameImportance()
    {
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());
        var settings = new TrainingSettings("LbfgsMaximumEntropy", TestFraction: 0.4);

        var first = ModelTrainer.Train(data, settings).Importance!;
        var second = ModelTrainer.Train(data, settings).Importance!;

        Assert.Equal(first.Columns, second.Columns);
        Assert.Equal("macroAccuracy", first.Metric);
        // Iris is told apart by its petals.
        Assert.StartsWith("petal_", first.Columns[0].Column, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAHoldOutThereIsNoImportance()
    {
        // 150 rows would leave a hold-out of 30: too few, so the model is cross-validated and nothing is held out.
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());

        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsMaximumEntropy"));

        Assert.Equal(ModelEvaluation.CrossValidation, model.Evaluation.Method);
        Assert.Null(model.Importance);
    }

    [Fact]
    public void APermutedViewReordersOneColumnAndNothingElse()
    {
        var ml = new MLContext(1);
        var rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 5).Select(i => new Pair { Number = i, Text = $"t{i}" }));

        var permuted = PermutedColumnView.Create(rows, "Text", [4, 3, 2, 1, 0]);

        Assert.Equal([0f, 1f, 2f, 3f, 4f], permuted.GetColumn<float>("Number"));
        Assert.Equal(["t4", "t3", "t2", "t1", "t0"], permuted.GetColumn<ReadOnlyMemory<char>>("Text").Select(text => text.ToString()));
    }

    private sealed class Pair
    {
        public float Number { get; set; }

        public string Text { get; set; } = "";
    }
}
