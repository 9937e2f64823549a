using ModelPlatform.Contracts;
using ModelPlatform.Messaging;

namespace ModelPlatform.Training.Pipelines;

/// <summary>
/// Notes a new dataset version for the pipelines that run on new data of it; each runs once the versions stop coming for its
/// debounce (<see cref="PipelineStore.NoteDatasetVersionAsync"/>). The same event heard twice changes nothing.
/// </summary>
public sealed partial class DatasetVersionCreatedHandler(PipelineStore pipelines, ILogger<DatasetVersionCreatedHandler> logger)
    : IIntegrationEventHandler<DatasetVersionCreated>
{
    public async Task HandleAsync(DatasetVersionCreated @event, CancellationToken cancellationToken)
    {
        if (await pipelines.NoteDatasetVersionAsync(@event.Dataset, @event.Version, cancellationToken) is var noted and > 0)
        {
            LogNoted(@event.Dataset, @event.Version, noted);
        }
    }

    [LoggerMessage(LogLevel.Information, "Dataset {Dataset} v{Version} is new data for {Pipelines} pipeline(s)")]
    private partial void LogNoted(string dataset, int version, int pipelines);
}
