using Microsoft.AspNetCore.Http.HttpResults;
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
// People read the console's failures in a browser: a page, where the services answer problem details.
builder.Services.Configure<ExceptionHandlerOptions>(options =>
{
    options.ExceptionHandlingPath = ErrorPage.Path;
    options.CreateScopeForErrors = true;
});

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAntiforgery();
app.MapStaticAssets().AllowAnonymous();
app.MapSignOut();
app.MapBatchScoring();
app.Map(ErrorPage.Path, () => new RazorComponentResult<ErrorPage>()).AllowAnonymous().ExcludeFromDescription();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
