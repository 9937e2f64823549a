using System.Globalization;
using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>Rows shaped as the feature service serves them: column name to typed JSON value.</summary>
internal static class SampleData
{
    public static IReadOnlyList<ColumnSchema> IrisColumns { get; } =
    [
        new("sepal_length", ColumnType.Numeric),
        new("sepal_width", ColumnType.Numeric),
        new("petal_length", ColumnType.Numeric),
        new("petal_width", ColumnType.Numeric),
        new("species", ColumnType.Categorical),
    ];

    public static List<IReadOnlyDictionary<string, JsonElement>> Iris() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "iris.csv")).Skip(1)
            .Select(line => line.Split(','))
            .Select(cells => Row(
                ("sepal_length", double.Parse(cells[0], CultureInfo.InvariantCulture)),
                ("sepal_width", double.Parse(cells[1], CultureInfo.InvariantCulture)),
                ("petal_length", double.Parse(cells[2], CultureInfo.InvariantCulture)),
                ("petal_width", double.Parse(cells[3], CultureInfo.InvariantCulture)),
                ("species", cells[4])))
            .ToList();

    public static IReadOnlyList<ColumnSchema> ChurnColumns { get; } =
    [
        new("customer_id", ColumnType.Categorical),
        new("tenure", ColumnType.Numeric),
        new("plan", ColumnType.Categorical),
        new("autopay", ColumnType.Boolean),
        new("last_ticket", ColumnType.Text),
        new("churned", ColumnType.Categorical),
    ];

    /// <summary>
    /// A deterministic churn table with every column type and missing values: customers churn when their tenure is
    /// short, they are on the basic plan without autopay, or their last ticket was a complaint.
    /// </summary>
    public static List<IReadOnlyDictionary<string, JsonElement>> Churn(int count, int seed = 7)
    {
        var random = new Random(seed);
        string[] plans = ["basic", "pro", "enterprise"];
        string[] happy = ["thanks for the quick help", "the new dashboard looks great", "question about my invoice date"];
        string[] angry = ["the service keeps failing and nobody answers", "cancel my account this is too slow", "very disappointed with the outage again"];
        var rows = new List<IReadOnlyDictionary<string, JsonElement>>(count);
        for (var i = 0; i < count; i++)
        {
            var tenure = random.Next(1, 60);
            var plan = plans[random.Next(plans.Length)];
            var autopay = random.NextDouble() < 0.5;
            var complaint = random.NextDouble() < 0.3;
            var risk = (tenure < 12 ? 1.5 : 0) + (plan == "basic" && !autopay ? 1.5 : 0) + (complaint ? 2 : 0) + random.NextDouble() - 0.5;
            rows.Add(Row(
                ("customer_id", $"c{i:D5}"),
                ("tenure", random.NextDouble() < 0.05 ? null : tenure),
                ("plan", plan),
                ("autopay", autopay),
                ("last_ticket", complaint ? angry[random.Next(angry.Length)] : happy[random.Next(happy.Length)]),
                ("churned", risk > 1.4 ? "yes" : "no")));
        }

        return rows;
    }

    public static IReadOnlyList<ColumnSchema> PriceColumns { get; } =
    [
        new("area", ColumnType.Numeric),
        new("rooms", ColumnType.Numeric),
        new("district", ColumnType.Categorical),
        new("price", ColumnType.Numeric),
    ];

    /// <summary>price = 3 × area + 10 × rooms + a district premium + noise.</summary>
    public static List<IReadOnlyDictionary<string, JsonElement>> Prices(int count, int seed = 11)
    {
        var random = new Random(seed);
        var premiums = new Dictionary<string, double> { ["north"] = 0, ["centre"] = 120, ["south"] = 40 };
        var districts = premiums.Keys.ToArray();
        return Enumerable.Range(0, count).Select(_ =>
        {
            var area = 30 + random.NextDouble() * 120;
            var rooms = random.Next(1, 6);
            var district = districts[random.Next(districts.Length)];
            var price = 3 * area + 10 * rooms + premiums[district] + random.NextDouble() * 10;
            return Row(("area", area), ("rooms", rooms), ("district", district), ("price", price));
        }).ToList();
    }

    public static IReadOnlyDictionary<string, JsonElement> Row(params (string Column, object? Value)[] values) =>
        values.ToDictionary(value => value.Column, value => JsonSerializer.SerializeToElement(value.Value));

    public static JsonElement Record(params (string Column, object? Value)[] values) =>
        JsonSerializer.SerializeToElement(values.ToDictionary(value => value.Column, value => value.Value));

    public static JsonElement AsRecord(IReadOnlyDictionary<string, JsonElement> row, string label) =>
        JsonSerializer.SerializeToElement(row.Where(pair => pair.Key != label).ToDictionary(pair => pair.Key, pair => pair.Value));
}
