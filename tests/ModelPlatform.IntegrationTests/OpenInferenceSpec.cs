using System.Text.Json.Nodes;
using Json.Schema;
using YamlDotNet.RepresentationModel;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// The schemas of the Open Inference Protocol's OpenAPI document (docs/specs), to check our responses against the
/// spec itself rather than against our reading of it.
/// </summary>
internal static class OpenInferenceSpec
{
    private static readonly Lazy<JsonObject> Schemas = new(LoadSchemas);

    /// <summary>Fails the test with every violation when <paramref name="body"/> does not match <paramref name="schemaName"/>.</summary>
    public static void AssertMatches(string schemaName, JsonNode? body)
    {
        // Every schema of the spec travels as $defs, so their references (rewritten to '#/$defs/…') resolve.
        var document = new JsonObject
        {
            ["$ref"] = $"#/$defs/{schemaName}",
            ["$defs"] = Schemas.Value.DeepClone(),
        };
        var schema = JsonSchema.FromText(document.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        var result = schema.Evaluate(System.Text.Json.JsonSerializer.SerializeToElement(body), new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (result.Details ?? []).Where(detail => detail.Errors is not null)
            .SelectMany(detail => detail.Errors!.Select(error => $"{detail.InstanceLocation}: {error.Value}"));
        Assert.True(result.IsValid, $"Response does not match the spec's {schemaName}:\n{string.Join("\n", errors)}\n{body}");
    }

    private static JsonObject LoadSchemas()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(AppContext.BaseDirectory, "open-inference-protocol-rest.yaml"));
        yaml.Load(reader);
        var spec = (JsonObject)ToJson(yaml.Documents[0].RootNode)!;
        return spec["components"]!["schemas"]!.AsObject();
    }

    // The schemas use only strings, lists and maps; scalars stay strings ("type: string", "required: [name]").
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children
            .Where(pair => !((YamlScalarNode)pair.Key).Value!.StartsWith("x-", StringComparison.Ordinal))
            .Select(pair => KeyValuePair.Create(((YamlScalarNode)pair.Key).Value!, ToJson(pair.Value)))),
        YamlSequenceNode list => new JsonArray([.. list.Children.Select(ToJson)]),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value?.Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal)),
        _ => null,
    };
}
