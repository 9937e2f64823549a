namespace ModelPlatform.Console;

/// <summary>The <c>ConsoleOptions</c> section.</summary>
public sealed class ConsoleOptions
{
    /// <summary>The platform's public address (the gateway), where the browser reaches each service's API reference.</summary>
    public string GatewayUrl { get; set; } = "/";
}
