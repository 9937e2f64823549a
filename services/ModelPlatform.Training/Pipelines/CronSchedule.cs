using Cronos;
using ModelPlatform.Contracts;

namespace ModelPlatform.Training.Pipelines;

/// <summary>The ticks that came due: the latest, how many earlier ones it stands for, and the next one to wait for.</summary>
public sealed record DueTicks(DateTimeOffset Latest, int Missed, DateTimeOffset Next);

/// <summary>A pipeline's cron schedule in its time zone (Cronos: five fields, or six with seconds first).</summary>
public sealed class CronSchedule
{
    /// <summary>Past this many ticks due at once (a schedule of seconds after a long outage), the rest are not counted one by one.</summary>
    private const int MaxCountedTicks = 100_000;

    private readonly CronExpression _expression;
    private readonly TimeZoneInfo _zone;

    private CronSchedule(CronExpression expression, TimeZoneInfo zone) => (_expression, _zone) = (expression, zone);

    /// <summary>The schedule, or why it is not one: <c>(null, field, message)</c> naming <c>cron</c> or <c>timeZone</c>.</summary>
    public static (CronSchedule? Schedule, string? Field, string? Error) Parse(PipelineSchedule schedule)
    {
        if (string.IsNullOrWhiteSpace(schedule.Cron))
        {
            return (null, "cron", "is required: five fields (minute hour day-of-month month day-of-week), or six with seconds first");
        }

        CronExpression expression;
        try
        {
            var fields = schedule.Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            expression = CronExpression.Parse(schedule.Cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            return (null, "cron", $"'{schedule.Cron}' is not a cron expression: {ex.Message}");
        }

        if (!TimeZoneInfo.TryFindSystemTimeZoneById(schedule.TimeZone ?? "UTC", out var zone))
        {
            return (null, "timeZone", $"'{schedule.TimeZone}' is not a time zone this machine knows (an IANA name such as Europe/Berlin)");
        }

        return expression.GetNextOccurrence(DateTimeOffset.UtcNow, zone) is null
            ? (null, "cron", $"'{schedule.Cron}' never comes round again")
            : (new CronSchedule(expression, zone), null, null);
    }

    /// <summary>The first tick after <paramref name="time"/>; null for a schedule that never comes again.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset time) => _expression.GetNextOccurrence(time, _zone)?.ToUniversalTime();

    /// <summary>
    /// The ticks from <paramref name="nextTick"/> (the one waited for) up to <paramref name="now"/>; null when it is not due yet.
    /// A platform that was down for several ticks runs once, for the latest, not once per tick.
    /// </summary>
    public DueTicks? Due(DateTimeOffset nextTick, DateTimeOffset now)
    {
        if (nextTick > now)
        {
            return null;
        }

        var latest = nextTick;
        var counted = 0;
        foreach (var tick in _expression.GetOccurrences(nextTick, now, _zone, fromInclusive: true, toInclusive: true))
        {
            latest = tick;
            if (++counted == MaxCountedTicks)
            {
                // Dense ticks over a long outage: the latest is within the last hour of them.
                latest = _expression.GetOccurrences(now.AddHours(-1), now, _zone, fromInclusive: true, toInclusive: true).LastOrDefault(latest);
                break;
            }
        }

        return new DueTicks(latest.ToUniversalTime(), Math.Max(counted - 1, 0), NextAfter(now) ?? DateTimeOffset.MaxValue);
    }
}
