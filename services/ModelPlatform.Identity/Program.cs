using ModelPlatform.Identity;
using ModelPlatform.Identity.Apis;
using ModelPlatform.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapApiKeysApi();
app.MapAuditApi();

app.Run();
