var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
// Routes and clusters are in appsettings.json (ReverseProxy); destinations resolve through Aspire service discovery.
builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
    .AddServiceDiscoveryDestinationResolver();

var app = builder.Build();

app.MapDefaultEndpoints();
// Every proxied route needs an authenticated caller here too (the services' fallback policy, from the service defaults), so
// a caller without a valid key is refused at the edge; each service still checks the roles its own routes need.
app.MapReverseProxy();

app.Run();
