using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// A model's predictions for a set of rows as plain arrays, which several models' can be averaged in, and back to
/// scored rows that <see cref="ModelMetrics.Evaluate"/> measures. Per row: binary, the probability of the positive class
/// (the logistic of the score for an uncalibrated trainer, as served); multiclass, the score of every class in the
/// label's key order; regression, the value.
/// </summary>
internal static class ScoredRows
{
    /// <summary>The predictions of rows a model scored, flat (multiclass: <c>classes</c> values per row).</summary>
    public static float[] Predictions(IDataView scored, MLTask task)
    {
        var values = new List<float>();
        var column = task == MLTask.Binary && scored.Schema.GetColumnOrNull("Probability") is { } probability ? probability : scored.Schema["Score"];
        using var cursor = scored.GetRowCursor([column]);
        if (task == MLTask.Multiclass)
        {
            var getScores = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> scores = default;
            while (cursor.MoveNext())
            {
                getScores(ref scores);
                values.AddRange(scores.DenseValues());
            }

            return [.. values];
        }

        var getValue = cursor.GetGetter<float>(column);
        var uncalibrated = task == MLTask.Binary && column.Name == "Score";
        var value = 0f;
        while (cursor.MoveNext())
        {
            getValue(ref value);
            values.Add(uncalibrated ? 1f / (1f + MathF.Exp(-value)) : value);
        }

        return [.. values];
    }

    /// <summary>The label of every row: 0 or 1 (binary), the class's key (multiclass, from 1), or the value.</summary>
    public static float[] Labels(IDataView rows, MLTask task)
    {
        var column = rows.Schema[ModelSchema.LabelColumn];
        var labels = new List<float>();
        using var cursor = rows.GetRowCursor([column]);
        Func<float> read = task switch
        {
            MLTask.Binary => Reader<bool>(cursor, column, label => label ? 1 : 0),
            MLTask.Multiclass => Reader<uint>(cursor, column, key => key),
            _ => Reader<float>(cursor, column, value => value),
        };
        while (cursor.MoveNext())
        {
            labels.Add(read());
        }

        return [.. labels];
    }

    /// <summary>How many classes the label has (the multiclass score vector's length); 1 for the other tasks.</summary>
    public static int Classes(IDataView rows, MLTask task) =>
        task == MLTask.Multiclass ? (int)((KeyDataViewType)rows.Schema[ModelSchema.LabelColumn].Type).Count : 1;

    /// <summary>The weighted average of several models' predictions for the same rows; the weights sum to 1.</summary>
    public static float[] Average(IReadOnlyList<(float[] Predictions, double Weight)> members)
    {
        var average = new float[members[0].Predictions.Length];
        foreach (var (predictions, weight) in members)
        {
            for (var i = 0; i < average.Length; i++)
            {
                average[i] += (float)(weight * predictions[i]);
            }
        }

        return average;
    }

    /// <summary>
    /// Scored rows as the task's trainers write them: binary with the positive class above 0.5, and the probability's
    /// log-odds as the score (ML.NET counts a score above 0 as positive); multiclass with the highest-scoring class predicted.
    /// </summary>
    public static IDataView View(MLContext ml, MLTask task, int classes, float[] labels, float[] predictions) => task switch
    {
        MLTask.Binary => ml.Data.LoadFromEnumerable(labels.Select((label, i) => new BinaryRow
        {
            Label = label == 1,
            Score = LogOdds(predictions[i]),
            Probability = predictions[i],
            PredictedLabel = predictions[i] > 0.5f,
        })),
        MLTask.Multiclass => ml.Data.LoadFromEnumerable(
            labels.Select((label, i) =>
            {
                var scores = predictions.AsSpan(i * classes, classes);
                // Keys count from 1 in ML.NET, but a .NET value loads as the key one above it.
                return new MulticlassRow { Label = (uint)label - 1, Score = scores.ToArray(), PredictedLabel = (uint)scores.IndexOf(Max(scores)) };
            }),
            MulticlassRow.Schema(classes)),
        _ => ml.Data.LoadFromEnumerable(labels.Select((label, i) => new RegressionRow { Label = label, Score = predictions[i] })),
    };

    // Clipped as log-loss clips it, so that a certain answer has a finite score.
    private static float LogOdds(float probability)
    {
        var p = Math.Clamp(probability, 1e-7f, 1 - 1e-7f);
        return MathF.Log(p / (1 - p));
    }

    private static float Max(ReadOnlySpan<float> values)
    {
        var max = float.NegativeInfinity;
        foreach (var value in values)
        {
            max = Math.Max(max, value);
        }

        return max;
    }

    private static Func<float> Reader<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, float> convert)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () =>
        {
            getter(ref value);
            return convert(value);
        };
    }

    private sealed class BinaryRow
    {
        [ColumnName(ModelSchema.LabelColumn)]
        public bool Label { get; set; }

        public float Score { get; set; }

        public float Probability { get; set; }

        public bool PredictedLabel { get; set; }
    }

    private sealed class MulticlassRow
    {
        [ColumnName(ModelSchema.LabelColumn)]
        public uint Label { get; set; }

        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }

        // The label and prediction are keys of the class count, and the score a vector of that length, as a trainer's are.
        public static SchemaDefinition Schema(int classes)
        {
            var schema = SchemaDefinition.Create(typeof(MulticlassRow));
            schema[ModelSchema.LabelColumn].ColumnType = new KeyDataViewType(typeof(uint), classes);
            schema[nameof(PredictedLabel)].ColumnType = new KeyDataViewType(typeof(uint), classes);
            schema[nameof(Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classes);
            return schema;
        }
    }

    private sealed class RegressionRow
    {
        [ColumnName(ModelSchema.LabelColumn)]
        public float Label { get; set; }

        public float Score { get; set; }
    }
}
