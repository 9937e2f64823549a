using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Training;

/// <summary>How training workers hold their jobs.</summary>
public sealed class TrainingOptions
{
    /// <summary>How long a worker holds a job without renewing; a worker that dies frees its jobs this long after.</summary>
    [Range(2, 3600)]
    public double LeaseSeconds { get; set; } = 15;

    /// <summary>How often a running job renews its lease, saves its progress and checks for a cancel request.</summary>
    [Range(0.1, 60)]
    public double HeartbeatSeconds { get; set; } = 1;

    /// <summary>
    /// A job sent this long ago that nobody runs (its message was dead-lettered before any claim, or lost with its worker)
    /// is sent again. Long enough that a job waiting its turn in a busy queue is rarely sent twice; a second copy is harmless.
    /// </summary>
    [Range(10, 86_400)]
    public double RepublishAfterSeconds { get; set; } = 1800;
}
