using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Where the stateful services keep their state: each its own embedded SQLite file (the default for one machine), or each
/// its own database on one PostgreSQL server (<c>Platform:Store=postgres</c>, a <c>ConnectionStrings:postgres</c>,
/// and always in publish mode), which replicas on any host share. The server comes from the first of these that works, as
/// Redis and RabbitMQ do: the connection string; the Aspire container (when a container runtime answers, and always in
/// publish mode); the local <c>postgres</c> binaries from the package manager.
/// </summary>
internal sealed class PlatformStore
{
    private const string SettingName = "Platform:Store";
    private readonly IDistributedApplicationBuilder _builder;
    private readonly IResourceBuilder<IResourceWithConnectionString>? _server;
    private readonly Func<string, IResourceBuilder<IResourceWithConnectionString>>? _addDatabase;

    private PlatformStore(
        IDistributedApplicationBuilder builder, IResourceBuilder<IResourceWithConnectionString>? server,
        Func<string, IResourceBuilder<IResourceWithConnectionString>>? addDatabase) =>
        (_builder, _server, _addDatabase) = (builder, server, addDatabase);

    public static PlatformStore Add(IDistributedApplicationBuilder builder, string name)
    {
        var setting = builder.Configuration[SettingName];
        var postgres = setting?.ToLowerInvariant() switch
        {
            null or "" or "sqlite" => false,
            "postgres" or "postgresql" => true,
            _ => throw new DistributedApplicationException($"{SettingName} is '{setting}'; it must be 'sqlite' (the default) or 'postgres'."),
        };
        if (builder.Configuration.GetConnectionString(name) is not null)
        {
            var configured = builder.AddConnectionString(name);
            return new PlatformStore(builder, configured, database => builder.AddConnectionString(database,
                ReferenceExpression.Create($"{configured.Resource.ConnectionStringExpression};Database={database}")));
        }

        if (!postgres && !builder.ExecutionContext.IsPublishMode)
        {
            return new PlatformStore(builder, null, null);
        }

        // The container integration generates its own secret password parameter (azd generates it on deploy), and
        // creates each database once the server is up.
        if (builder.ExecutionContext.IsPublishMode || ContainerRuntime.IsAvailable)
        {
            var container = builder.AddPostgres(name).WithDataVolume();
            return new PlatformStore(builder, container, database => container.AddDatabase(database));
        }

        var server = builder.AddLocalPostgres(name);
        return new PlatformStore(builder, server, database => builder.AddConnectionString(database,
            ReferenceExpression.Create($"{server.Resource.ConnectionStringExpression};Database={database}")));
    }

    /// <summary>
    /// Gives <paramref name="service"/> its store: its own PostgreSQL database (<c>{service}db</c>), which it creates on first
    /// start if the server does not have it yet; else its own data folder for SQLite under the platform's data directory.
    /// </summary>
    public IResourceBuilder<ProjectResource> For(IResourceBuilder<ProjectResource> service)
    {
        if (_server is null)
        {
            // Deployed, each service keeps the default (data under its content root, for a mounted volume).
            return _builder.ExecutionContext.IsRunMode
                ? service.WithEnvironment("Storage__DataDirectory", Path.Combine(_builder.DataDirectory(), service.Resource.Name))
                : service;
        }

        var database = _addDatabase!($"{service.Resource.Name}db");
        service.WithReference(database).WaitFor(_server);
        // The container integration creates its databases itself once the server is up: the service waits for that.
        return database.Resource is PostgresDatabaseResource ? service.WaitFor(database) : service;
    }
}

/// <summary>PostgreSQL from the local binaries (Debian's <c>postgresql</c> package, Homebrew's <c>postgresql</c>).</summary>
internal static class LocalPostgres
{
    private const string SystemUser = "postgres";

    public static IResourceBuilder<IResourceWithConnectionString> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name)
    {
        var bin = FindBinaries() ?? throw new DistributedApplicationException(
            "PostgreSQL is needed (Platform:Store=postgres) but neither a container runtime nor PostgreSQL's initdb and postgres were found. " +
            "Install it with 'sudo apt-get install -y postgresql' (Debian/Ubuntu) or 'brew install postgresql' (macOS), start Docker or Podman, " +
            $"or set ConnectionStrings:{name} to a server you already run.");
        var asRoot = Environment.IsPrivilegedProcess;
        var directory = DataFolder(builder, name, asRoot);
        var data = Path.Combine(directory, "data");
        var port = LocalServer.FreePort();
        var password = PlatformServers.LocalPassword(builder, name);
        var server = new LocalServerResource(name, asRoot ? "runuser" : Path.Combine(bin, "postgres"), directory,
            ReferenceExpression.Create($"Host=127.0.0.1;Port={port.ToString()};Username={SystemUser};Password={password.Resource}"));

        builder.Services.AddHealthChecks().AddNpgSql(
            _ => PlatformServers.ConnectionStringOf(server).AsTask().GetAwaiter().GetResult(), name: $"{name}-check");

        // A new cluster on first start, owned by whoever runs the server, with the password from the secret parameter.
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, async (_, cancellationToken) =>
        {
            if (File.Exists(Path.Combine(data, "PG_VERSION")))
            {
                return;
            }

            var passwordFile = Path.Combine(directory, "initdb-password");
            PlatformServers.WriteSecretFile(passwordFile, await password.Resource.GetValueAsync(cancellationToken) ?? "");
            try
            {
                if (asRoot)
                {
                    await RunAsync("chown", [$"{SystemUser}:", directory, passwordFile], cancellationToken);
                }

                await RunAsync(asRoot ? "runuser" : Path.Combine(bin, "initdb"),
                    [.. asRoot ? (string[])["-u", SystemUser, "--", Path.Combine(bin, "initdb")] : [],
                        "-D", data, "-U", SystemUser, "--auth=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8"], cancellationToken);
            }
            finally
            {
                File.Delete(passwordFile);
            }
        });

        string[] arguments = ["-D", data, "-p", port.ToString(), "-h", "127.0.0.1", "-k", directory];
        return builder.AddResource(server)
            .WithEndpoint(name: LocalServerResource.EndpointName, port: port, targetPort: port, scheme: "tcp", isProxied: false)
            .WithArgs(asRoot ? ["-u", SystemUser, "--", Path.Combine(bin, "postgres"), .. arguments] : arguments)
            .WithHealthCheck($"{name}-check");
    }

    /// <summary>
    /// The cluster's folder: under the platform's data folder, except as root. PostgreSQL refuses to run as root, so then
    /// it runs as the <c>postgres</c> user, who cannot reach a root's home: its folder is under that user's home instead,
    /// named after the data folder (as RabbitMQ's node is), so each data folder keeps its own cluster.
    /// </summary>
    public static string DataFolder(IDistributedApplicationBuilder builder, string name, bool asRoot)
    {
        if (!asRoot)
        {
            return Directory.CreateDirectory(Path.Combine(builder.DataDirectory(), name)).FullName;
        }

        var home = SystemUserHome() ?? throw new DistributedApplicationException(
            $"PostgreSQL refuses to run as root, and there is no '{SystemUser}' user to run it as: install PostgreSQL with your package manager " +
            "('sudo apt-get install -y postgresql'), which creates it, or run the AppHost as another user.");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(builder.DataDirectory())))[..12];
        var folder = Directory.CreateDirectory(Path.Combine(home, "modelplatform", hash)).FullName;
        Process.Start("chown", [$"{SystemUser}:", Path.GetDirectoryName(folder)!, folder])!.WaitForExit();
        return folder;
    }

    private static string? SystemUserHome() =>
        File.ReadLines("/etc/passwd").Select(line => line.Split(':')).FirstOrDefault(fields => fields[0] == SystemUser) is { Length: > 5 } user
            ? user[5]
            : null;

    /// <summary>Where <c>initdb</c> and <c>postgres</c> are: on PATH, or Debian's newest <c>/usr/lib/postgresql/{version}/bin</c>.</summary>
    private static string? FindBinaries()
    {
        var versions = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(path => int.TryParse(Path.GetFileName(path), out var v) ? v : 0)
                .Select(path => Path.Combine(path, "bin")).ToArray()
            : [];
        return LocalServer.Find("initdb", versions) is { } initdb && File.Exists(Path.Combine(Path.GetDirectoryName(initdb)!, "postgres"))
            ? Path.GetDirectoryName(initdb)
            : null;
    }

    private static async Task RunAsync(string program, string[] arguments, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new DistributedApplicationException($"{Path.GetFileName(program)} {string.Join(' ', arguments)} failed: {await output}{errors}");
        }
    }
}
