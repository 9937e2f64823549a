using ModelPlatform.Feature;
using ModelPlatform.Feature.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapDatasetsApi();

app.Run();
