using ModelPlatform.Contracts;

namespace ModelPlatform.Console.Platform;

public static class AliasRoutes
{
    /// <summary>A route in words: the version, and the canary's share and the shadow where there are.</summary>
    public static string Describe(AliasRoute route) =>
        $"v{route.Version}"
        + (route.Canary is { } canary ? $", canary v{canary.Version} at {canary.Percent}%" : "")
        + (route.Shadow is { } shadow ? $", shadow v{shadow}" + (shadow == route.Version ? " of the canary's requests" : "") : "");
}
