using ModelPlatform.Feature;
using ModelPlatform.Feature.Apis;
using ModelPlatform.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapDatasetsApi();
app.MapDefinitionsApi();
app.MapOnlineApi();
app.MapAuditApi();

app.Run();
