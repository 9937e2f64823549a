using System.Globalization;

namespace ModelPlatform.Console.Platform;

/// <summary>How the console writes a moment: UTC as the services keep it, to the minute in lists and to the second in details.</summary>
public static class Times
{
    public const string MinuteFormat = "yyyy-MM-dd HH:mm";

    public const string SecondFormat = "yyyy-MM-dd HH:mm:ss";

    public static string ToMinute(this DateTimeOffset at) => at.ToString(MinuteFormat, CultureInfo.InvariantCulture);

    public static string ToSecond(this DateTimeOffset at) => at.ToString(SecondFormat, CultureInfo.InvariantCulture);
}
