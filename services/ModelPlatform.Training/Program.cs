using ModelPlatform.Storage;
using ModelPlatform.Training;
using ModelPlatform.Training.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapTrainingJobsApi();
app.MapBatchPredictionsApi();
app.MapPipelinesApi();
app.MapAuditApi();

app.Run();
