using System.Globalization;
using System.Text;

namespace ModelPlatform.Bench;

/// <summary>
/// The benchmark's table: customers with a churn risk that rises with ticket count and price and falls with tenure and
/// autopay, a signal both learners can find, so their AUCs say they did the same work. Seeded, so a file of a given row
/// count is the same every time.
/// </summary>
internal static class ChurnTable
{
    /// <summary>Writes <paramref name="rows"/> rows as a CSV at <paramref name="path"/>, a line at a time, unless a complete file is there.</summary>
    public static void Write(string path, int rows)
    {
        if (File.Exists(path))
        {
            return;
        }

        // Written aside and moved into place, so an interrupted run never leaves a short file to be taken for a whole one.
        var partial = path + ".partial";
        var random = new Random(42);
        string[] plans = ["basic", "plus", "pro"];
        string[] regions = ["north", "south", "east", "west"];
        using (var writer = new StreamWriter(partial, false, new UTF8Encoding(false)))
        {
            writer.WriteLine("customer_id,tenure,monthly,total,plan,autopay,tickets,region,age,churned");
            for (var i = 0; i < rows; i++)
            {
                var tenure = random.Next(72);
                var monthly = 20 + random.NextDouble() * 100;
                var plan = random.Next(3);
                var autopay = random.Next(2) == 0;
                var tickets = random.Next(10);
                var noise = random.NextDouble() * 1.5 - 0.75;
                var risk = -1.5 + 0.25 * tickets + 0.015 * monthly - 0.04 * tenure - (autopay ? 0.8 : 0) + (plan == 0 ? 0.4 : 0) + noise;
                var churned = random.NextDouble() < 1 / (1 + Math.Exp(-risk));
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"c{i},{tenure},{monthly:F2},{monthly * tenure:F2},{plans[plan]},"
                    + $"{(autopay ? "true" : "false")},{tickets},{regions[random.Next(4)]},{18 + random.Next(60)},{(churned ? "yes" : "no")}"));
            }
        }

        File.Move(partial, path);
    }
}
