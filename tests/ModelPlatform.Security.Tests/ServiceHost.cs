using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using ModelPlatform.Contracts;

namespace ModelPlatform.Security.Tests;

/// <summary>
/// One service as it is built for production (its Program, its endpoints, its authentication and authorization), hosted in
/// memory without its background work. Requests are refused or let through before any handler touches Redis, RabbitMQ or
/// a database, so none is needed. Keys are checked by <see cref="RoleKeys"/> instead of the identity service.
/// </summary>
/// <param name="settings">More configuration, as <c>Section:Key</c> pairs.</param>
public sealed class ServiceHost<TEntryPoint>(string name, IReadOnlyDictionary<string, string>? settings = null)
    : WebApplicationFactory<TEntryPoint>, IServiceHost where TEntryPoint : class
{
    private readonly string _data = Directory.CreateTempSubdirectory($"modelplatform-{name}-").FullName;

    public string Name { get; } = name;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Storage:DataDirectory", _data);
        builder.UseSetting("ConnectionStrings:redis", "localhost:1,abortConnect=false");
        builder.UseSetting("ConnectionStrings:rabbitmq", "amqp://guest:guest@localhost:1");
        builder.UseSetting("ApiKeysOptions:AdminKey", RoleKeys.For(PlatformRoles.Admin) + "-padding-to-min-length");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.RemoveAll<IHostedService>();
            services.RemoveAll<IApiKeyValidator>();
            services.AddSingleton<IApiKeyValidator, RoleKeys>();
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Any of the services, hosted in memory.</summary>
public interface IServiceHost : IDisposable
{
    IServiceProvider Services { get; }

    HttpClient CreateClient();
}

/// <summary>Test keys that name their roles: <c>roles:reader,admin</c> holds reader and admin; anything else is unknown.</summary>
public sealed class RoleKeys : IApiKeyValidator
{
    private const string Prefix = "roles:";

    public static string For(params IEnumerable<string> roles) => Prefix + string.Join(',', roles);

    public Task<ApiKeyIntrospection> IntrospectAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(key.StartsWith(Prefix, StringComparison.Ordinal)
            ? new ApiKeyIntrospection(true, key, key, key[Prefix.Length..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            : new ApiKeyIntrospection(false, Refusal: "unknown"));
}
