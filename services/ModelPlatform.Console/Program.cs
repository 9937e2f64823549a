using ModelPlatform.Console;
using ModelPlatform.Console.Components;
using ModelPlatform.Console.Platform;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.AddConsoleSignIn();
PlatformApi.AddPlatformApi(builder);
builder.Services.AddOptions<ConsoleOptions>().BindConfiguration("ConsoleOptions");
builder.Services.AddRazorComponents().AddInteractiveServerComponents();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAntiforgery();
app.MapStaticAssets().AllowAnonymous();
app.MapSignOut();
app.MapBatchScoring();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
