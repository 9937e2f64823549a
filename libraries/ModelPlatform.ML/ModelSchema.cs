using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>Names and ML.NET types of the columns a model sees.</summary>
public static class ModelSchema
{
    // Internal names are prefixed so they never collide with a user's column called "Label" or "Features".
    public const string LabelColumn = "__Label";
    public const string FeaturesColumn = "__Features";
    public const string PredictedClassColumn = "__PredictedClass";

    public static DataViewSchema ForInputs(IReadOnlyList<ColumnSchema> inputs)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var input in inputs)
        {
            builder.AddColumn(input.Name, TypeOf(input.Type));
        }

        return builder.ToSchema();
    }

    public static DataViewSchema ForTraining(IReadOnlyList<ColumnSchema> inputs, MLTask task)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(ForInputs(inputs));
        builder.AddColumn(LabelColumn, task switch
        {
            MLTask.Binary => BooleanDataViewType.Instance,
            MLTask.Multiclass => TextDataViewType.Instance,
            _ => NumberDataViewType.Single,
        });
        return builder.ToSchema();
    }

    private static DataViewType TypeOf(ColumnType type) =>
        ColumnValues.IsNumeric(type) ? NumberDataViewType.Single : TextDataViewType.Instance;
}
