using Microsoft.ML;

namespace ModelPlatform.ML;

internal static class DataViewRows
{
    /// <summary>The view's rows: known up front, or counted, as a seeded train/test split (a filter) must be.</summary>
    public static long CountRows(this IDataView view)
    {
        if (view.GetRowCount() is { } known)
        {
            return known;
        }

        var rows = 0L;
        using var cursor = view.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            rows++;
        }

        return rows;
    }
}
