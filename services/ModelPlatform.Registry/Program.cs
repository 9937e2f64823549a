using ModelPlatform.Registry;
using ModelPlatform.Registry.Apis;
using ModelPlatform.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapModelsApi();
app.MapAuditApi();

app.Run();
