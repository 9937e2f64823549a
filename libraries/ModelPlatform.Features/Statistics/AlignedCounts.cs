namespace ModelPlatform.Features.Statistics;

/// <summary>Two columns' label counts side by side over the union of their labels (the reference's labels first).</summary>
internal readonly record struct AlignedCounts(long[] Reference, long[] Current)
{
    public static AlignedCounts Of(ColumnData reference, ColumnData current)
    {
        var labels = new List<string>(reference.LabelCounts.Keys);
        foreach (var label in current.LabelCounts.Keys)
        {
            if (!reference.LabelCounts.ContainsKey(label))
            {
                labels.Add(label);
            }
        }

        var referenceCounts = new long[labels.Count];
        var currentCounts = new long[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            referenceCounts[i] = reference.LabelCounts.GetValueOrDefault(labels[i]);
            currentCounts[i] = current.LabelCounts.GetValueOrDefault(labels[i]);
        }

        return new AlignedCounts(referenceCounts, currentCounts);
    }
}
