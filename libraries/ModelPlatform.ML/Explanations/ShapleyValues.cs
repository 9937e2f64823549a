using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Explanations;

/// <summary>
/// Baseline Shapley values (Sundararajan and Najmi, "The many Shapley values for model explanation", 2020) of a record's
/// input columns, for any model that scores records: a column's value is its average effect on the output when it is
/// swapped in from the record into a reference row, over the orders in which the columns can be swapped in. Columns whose
/// value is the reference's change nothing and get zero; the others are the players. When 2^players evaluations fit the
/// budget, every coalition is scored and the values are exact; otherwise permutations are sampled in antithetic pairs (an
/// order and its reverse) and each walks from the reference to the record one column at a time, so every sample's
/// contributions sum to f(record) - f(reference), and so does their mean.
/// </summary>
public static class ShapleyValues
{
    /// <summary>
    /// Evaluations one explanation may score, unless told otherwise: exact up to 11 differing columns; above, about
    /// 2,048 / (players - 1) sampled orders (186 for 12 columns, 40 for 50). At some 10-50 µs an evaluation, tens of ms.
    /// </summary>
    public const int DefaultBudget = 2_048;

    /// <summary>Explains the model's output for <paramref name="record"/>, measured from <paramref name="reference"/>.</summary>
    /// <param name="score">Scores records with the model, in one batch: an ML.NET model, an ensemble or any other.</param>
    /// <param name="budget">The most evaluations to score; an antithetic pair of orders is always drawn, whatever it costs.</param>
    /// <param name="seed">Draws the sampled orders, so the same record explains the same way.</param>
    public static Explanation Explain(
        ModelSignature signature,
        Func<IReadOnlyList<ModelRecord>, Prediction[]> score,
        ModelRecord record,
        ModelRecord reference,
        int budget = DefaultBudget,
        int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, 1);
        var players = Enumerable.Range(0, signature.Inputs.Count).Where(column => !SameValue(signature, record, reference, column)).ToArray();
        // Two players cost four evaluations either way.
        var exact = players.Length <= 2 || (players.Length < 31 && 1 << players.Length <= budget);
        var rows = exact ? Coalitions(record, reference, players) : new List<ModelRecord> { reference, record };
        var orders = exact ? [] : Orders(players, budget, seed);
        if (!exact)
        {
            foreach (var order in orders)
            {
                rows.AddRange(Walk(record, reference, order));
            }
        }

        var predictions = score(rows);
        // The record is the last coalition, or the second row.
        var (outputName, output) = Output(signature, predictions[exact ? rows.Count - 1 : 1]);
        var values = Array.ConvertAll(predictions, output);
        var contributions = exact ? ExactValues(values, players.Length) : SampledValues(values, players.Length, orders);

        var byColumn = signature.Inputs.ToDictionary(input => input.Name, _ => 0.0, StringComparer.Ordinal);
        for (var p = 0; p < players.Length; p++)
        {
            byColumn[signature.Inputs[players[p]].Name] = contributions[p];
        }

        return new Explanation(Explanation.ShapleySampling, outputName, values[0], byColumn);
    }

    /// <summary>
    /// What is explained, read from a prediction: the positive class's probability, the value, or the score of the class
    /// predicted for the record (the same class at every evaluation, so the values measure one quantity).
    /// </summary>
    private static (string Name, Converter<Prediction, double> Read) Output(ModelSignature signature, Prediction forRecord)
    {
        switch (signature.Task)
        {
            case MLTask.Binary:
                return (Explanation.Probability, prediction => prediction.Probability!.Value);
            case MLTask.Multiclass:
                var predicted = forRecord.Scores!.MaxBy(score => score.Value).Key;
                return (Explanation.Score, prediction => prediction.Scores![predicted]);
            default:
                return (Explanation.Value, prediction => prediction.Value!.Value);
        }
    }

    private static bool SameValue(ModelSignature signature, ModelRecord record, ModelRecord reference, int column) =>
        ColumnValues.IsNumeric(signature.Inputs[column].Type)
            // Equals, not ==: two missing numbers (NaN) are the same value.
            ? record.Numbers[column].Equals(reference.Numbers[column])
            : string.Equals(record.Texts[column], reference.Texts[column], StringComparison.Ordinal);

    /// <summary>Every coalition of players, as a bit mask: row <c>mask</c> takes player p from the record when bit p is set.</summary>
    private static List<ModelRecord> Coalitions(ModelRecord record, ModelRecord reference, int[] players)
    {
        var rows = new List<ModelRecord>(1 << players.Length);
        for (var mask = 0; mask < 1 << players.Length; mask++)
        {
            var row = Copy(reference);
            for (var p = 0; p < players.Length; p++)
            {
                if ((mask & (1 << p)) != 0)
                {
                    Take(row, record, players[p]);
                }
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>
    /// phi_p = sum over coalitions S without p of |S|! (n - |S| - 1)! / n! (v(S + p) - v(S)), with v read by mask.
    /// </summary>
    private static double[] ExactValues(double[] values, int players)
    {
        // weights[s] = s! (n - s - 1)! / n!, built as a product so no factorial overflows.
        var weights = new double[players];
        for (var size = 0; size < players; size++)
        {
            var weight = 1.0 / players;
            for (var k = 1; k <= size; k++)
            {
                weight *= (double)k / (players - k);
            }

            weights[size] = weight;
        }

        var contributions = new double[players];
        for (var mask = 0; mask < values.Length; mask++)
        {
            for (var p = 0; p < players; p++)
            {
                if ((mask & (1 << p)) == 0)
                {
                    contributions[p] += weights[int.PopCount(mask)] * (values[mask | (1 << p)] - values[mask]);
                }
            }
        }

        return contributions;
    }

    /// <summary>
    /// Orders of the players, in antithetic pairs (an order, then its reverse, which balances each column's early and late
    /// positions): as many pairs as the budget pays for at players - 1 new evaluations an order, and at least one.
    /// </summary>
    private static List<int[]> Orders(int[] players, int budget, int seed)
    {
        var pairs = Math.Max(1, (budget - 2) / (2 * (players.Length - 1)));
        var random = new Random(seed);
        var orders = new List<int[]>(2 * pairs);
        for (var pair = 0; pair < pairs; pair++)
        {
            var order = Enumerable.Range(0, players.Length).ToArray();
            random.Shuffle(order);
            orders.Add(order);
            orders.Add([.. order.Reverse()]);
        }

        return orders;
    }

    /// <summary>
    /// The rows between the reference and the record along one order: after the first player swapped in, after the second,
    /// up to all but the last (the reference and the record themselves are rows 0 and 1, shared by every order).
    /// </summary>
    private static IEnumerable<ModelRecord> Walk(ModelRecord record, ModelRecord reference, int[] order)
    {
        var row = Copy(reference);
        for (var step = 0; step < order.Length - 1; step++)
        {
            Take(row, record, order[step]);
            yield return Copy(row);
        }
    }

    /// <summary>Each player's mean change in the output, over the orders, as it was swapped in.</summary>
    private static double[] SampledValues(double[] values, int players, List<int[]> orders)
    {
        var contributions = new double[players];
        var next = 2;
        foreach (var order in orders)
        {
            var before = values[0];
            for (var step = 0; step < order.Length; step++)
            {
                // The last step reaches the record itself.
                var after = step == order.Length - 1 ? values[1] : values[next++];
                contributions[order[step]] += after - before;
                before = after;
            }
        }

        for (var p = 0; p < players; p++)
        {
            contributions[p] /= orders.Count;
        }

        return contributions;
    }

    private static ModelRecord Copy(ModelRecord record) => new([.. record.Numbers], [.. record.Texts]);

    private static void Take(ModelRecord row, ModelRecord record, int column)
    {
        row.Numbers[column] = record.Numbers[column];
        row.Texts[column] = record.Texts[column];
    }
}
