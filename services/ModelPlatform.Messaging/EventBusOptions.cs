using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Messaging;

public sealed class EventBusOptions
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

    /// <summary>How many unacknowledged messages a consumer holds at once.</summary>
    [Range(1, 1000)]
    public ushort PrefetchCount { get; set; } = 1;
}
