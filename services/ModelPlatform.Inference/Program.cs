using ModelPlatform.Inference;
using ModelPlatform.Inference.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseLiveTrafficCounting();
app.MapPredictApi();
app.MapOpenInferenceApi();

app.Run();
