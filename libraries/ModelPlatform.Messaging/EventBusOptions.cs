using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Messaging;

public sealed class EventBusOptions : IValidatableObject
{
    /// <summary>The topic exchange every service publishes to; the routing key is the event's type name.</summary>
    [Required]
    public string Exchange { get; set; } = "modelplatform.events";

    /// <summary>Where messages a handler could not process end up, one queue per subscriber.</summary>
    [Required]
    public string DeadLetterExchange { get; set; } = "modelplatform.dead-letter";

    /// <summary>
    /// The durable queue this service consumes from. Replicas of a service share it, so each message
    /// is handled once per service (competing consumers).
    /// </summary>
    public string? QueueName { get; set; }

    /// <summary>
    /// When true, each process gets its own short-lived queue and sees every event (fan-out), which
    /// suits cache invalidation. When false, replicas compete on <see cref="QueueName"/>.
    /// </summary>
    public bool QueuePerInstance { get; set; }

    /// <summary>How many unacknowledged messages a consumer holds, and handles, at once.</summary>
    [Range(1, 1000)]
    public ushort PrefetchCount { get; set; } = 1;

    /// <summary>
    /// Lanes beside <see cref="QueueName"/>, by name (<c>EventBus:Lanes:background:PrefetchCount</c>): each is a queue of its
    /// own, <c>{QueueName}.{lane}</c>, that takes the subscribed events published in that lane (<see cref="ModelPlatform.Contracts.IntegrationEvent.Lane"/>),
    /// with a consumer of its own. So each lane keeps its own capacity: work in one never waits for work in another.
    /// </summary>
    public Dictionary<string, EventBusLane> Lanes { get; set; } = [];

    /// <summary>How many times a handler may try a message, unless its publisher said otherwise.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The wait before the first retry; each later retry waits twice as long as the one before.</summary>
    [Range(0.1, 3600)]
    public double RetryDelaySeconds { get; set; } = 5;

    /// <summary>Retries wait at most this many doublings of <see cref="RetryDelaySeconds"/>.</summary>
    [Range(1, 20)]
    public int MaxRetryDoublings { get; set; } = 6;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (QueuePerInstance && Lanes.Count > 0)
        {
            yield return new ValidationResult($"{nameof(Lanes)} apply to a shared {nameof(QueueName)}, not to {nameof(QueuePerInstance)}.", [nameof(Lanes)]);
        }

        // The lanes' own attributes, which validating these options alone does not reach.
        foreach (var (name, lane) in Lanes)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(lane, new ValidationContext(lane), results, validateAllProperties: true);
            foreach (var result in results)
            {
                yield return new ValidationResult(result.ErrorMessage, [.. result.MemberNames.Select(member => $"{nameof(Lanes)}:{name}:{member}")]);
            }
        }
    }
}

/// <summary>One lane of a service's queue (<see cref="EventBusOptions.Lanes"/>).</summary>
public sealed class EventBusLane
{
    /// <summary>How many of the lane's messages a consumer holds, and handles, at once, beside the main queue's.</summary>
    [Range(1, 1000)]
    public ushort PrefetchCount { get; set; } = 1;

    /// <summary>
    /// Events the lane takes as they are published, rather than the main queue (their type names): notices that must not
    /// wait behind the main queue's long work, such as the training service's <c>DatasetVersionCreated</c>.
    /// </summary>
    public List<string> Events { get; set; } = [];
}
