using System.ComponentModel.DataAnnotations;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Feature;

public sealed class FeatureOptions
{
    /// <summary>
    /// The largest CSV upload accepted, in bytes. An upload is staged to disk and read as a stream, so its size costs disk
    /// and time, not memory: 1 GiB takes a 5,000,000-row table of up to about 200 bytes a row (docs/performance.md).
    /// </summary>
    [Range(1, 1L << 30)]
    public long MaxUploadBytes { get; set; } = 1L << 30;

    /// <summary>The longest column name, in characters.</summary>
    [Range(1, 4096)]
    public int MaxColumnNameLength { get; set; } = 128;

    [Range(1, 100_000)]
    public int MaxColumns { get; set; } = 1000;

    /// <summary>The longest cell, in characters (text columns such as reviews or messages are the long ones).</summary>
    [Range(1, 1 << 24)]
    public int MaxCellCharacters { get; set; } = 65_536;

    /// <summary>The most data rows in one version.</summary>
    [Range(1, int.MaxValue)]
    public int MaxRows { get; set; } = 50_000_000;

    /// <summary>The memory each query of the offline store may take before it spills to the scratch folder.</summary>
    [Range(64L << 20, 1L << 40)]
    public long QueryMemoryBytes { get; set; } = 1L << 30;

    /// <summary>
    /// The thresholds of <c>GET /datasets/{name}/drift</c> (section <c>FeatureOptions:Drift</c>): the p-value below which KS
    /// and chi-square call a column drifted, the distance from which Wasserstein and Jensen-Shannon do, the reference size
    /// above which the distances are used, and the share of drifted columns from which the dataset has drifted.
    /// </summary>
    public DriftOptions Drift { get; set; } = DriftOptions.Default;

    /// <summary>How often each replica looks for feature views whose schedule is due.</summary>
    [Range(1, 3600)]
    public int MaterializationCheckSeconds { get; set; } = 15;

    /// <summary>
    /// How long a replica holds a view it materializes on schedule: longer than a run takes. A replica that dies mid-run holds
    /// its view back this long; a run that outlasts it may meet a second run of the same window, which changes nothing.
    /// </summary>
    [Range(10, 86_400)]
    public int MaterializationLeaseSeconds { get; set; } = 900;

    public CsvLimits Limits => new(MaxColumnNameLength, MaxColumns, MaxCellCharacters, MaxRows);
}
