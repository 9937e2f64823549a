namespace ModelPlatform.Console.Platform;

/// <summary>What the console accepts in one upload: the form around a CSV the feature service then checks against its own limit.</summary>
public static class UploadLimits
{
    /// <summary>256 MiB: a few million rows of a typical table. Larger files go straight to the API.</summary>
    public const long MaxBytes = 256L << 20;
}
