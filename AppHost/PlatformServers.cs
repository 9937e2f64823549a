using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

/// <summary>
/// Where Redis and RabbitMQ come from, first match wins:
/// <list type="number">
/// <item>a connection string in configuration (<c>ConnectionStrings:redis</c>, <c>ConnectionStrings:rabbitmq</c>);</item>
/// <item>the standard Aspire containers, when a container runtime answers, and always in publish mode (what azd deploys);</item>
/// <item>the locally installed <c>redis-server</c> / <c>rabbitmq-server</c>, run as executables on free loopback ports
/// with their data under the platform's data folder;</item>
/// <item>else start-up stops with the command that installs them.</item>
/// </list>
/// </summary>
internal static class PlatformServers
{
    private const string InstallHint =
        "Install it with 'sudo apt-get install -y redis-server rabbitmq-server' (Debian/Ubuntu) or 'brew install redis rabbitmq' (macOS), " +
        "start Docker or Podman, or set ConnectionStrings:{0} (user secrets or environment) to a server you already run.";

    public static IResourceBuilder<IResourceWithConnectionString> AddPlatformRedis(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.Configuration.GetConnectionString(name) is not null)
        {
            return builder.AddConnectionString(name);
        }

        // The container integrations generate their own secret password parameter (azd generates it on deploy).
        if (builder.ExecutionContext.IsPublishMode || ContainerRuntime.IsAvailable)
        {
            return builder.AddRedis(name).WithDataVolume();
        }

        var command = LocalServer.Find("redis-server")
            ?? throw new DistributedApplicationException(
                $"Redis is needed but neither a container runtime nor redis-server was found. {string.Format(InstallHint, name)}");
        return builder.AddLocalRedis(name, command, LocalPassword(builder, name));
    }

    public static IResourceBuilder<IResourceWithConnectionString> AddPlatformRabbitMQ(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.Configuration.GetConnectionString(name) is not null)
        {
            return builder.AddConnectionString(name);
        }

        if (builder.ExecutionContext.IsPublishMode || ContainerRuntime.IsAvailable)
        {
            return builder.AddRabbitMQ(name).WithManagementPlugin().WithDataVolume();
        }

        var command = LocalServer.Find("rabbitmq-server", "/usr/lib/rabbitmq/bin")
            ?? throw new DistributedApplicationException(
                $"RabbitMQ is needed but neither a container runtime nor rabbitmq-server was found. {string.Format(InstallHint, name)}");
        var userName = builder.AddParameter($"{name}-username", "modelplatform");
        return builder.AddLocalRabbitMQ(name, command, userName, LocalPassword(builder, name));
    }

    /// <summary>
    /// The root of the platform's local data: <c>Platform:DataDirectory</c> when set (tests point it at a
    /// temporary folder), else a per-user folder such as <c>~/.local/share/ModelPlatform</c>.
    /// </summary>
    public static string DataDirectory(this IDistributedApplicationBuilder builder) =>
        // ModelPlatform:DataDirectory is the setting's name before the solution became a template; it is still honoured.
        (builder.Configuration["Platform:DataDirectory"] ?? builder.Configuration["ModelPlatform:DataDirectory"]) is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "ModelPlatform");

    /// <summary>
    /// The secret parameter <c>{name}-password</c> for a local server. Set it like any Aspire parameter
    /// (<c>Parameters:{name}-password</c> in user secrets); by default it is random per machine and kept in the
    /// data folder, outside the repo, so restarts reuse it.
    /// </summary>
    internal static IResourceBuilder<ParameterResource> LocalPassword(IDistributedApplicationBuilder builder, string name) =>
        builder.AddLocalSecret($"{name}-password", () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));

    /// <summary>
    /// A secret parameter for running locally: its configured value (<c>Parameters:{name}</c>, say in user secrets), else
    /// one made by <paramref name="generate"/> on first run and kept in <c>secrets/{name}</c> under the data folder, readable
    /// only by its owner, so restarts and scripts find it.
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddLocalSecret(
        this IDistributedApplicationBuilder builder, string name, Func<string> generate) =>
        builder.AddParameter(name, () => builder.Configuration[$"Parameters:{name}"] ?? StoredSecret(builder, name, generate), secret: true);

    private static string StoredSecret(IDistributedApplicationBuilder builder, string name, Func<string> generate)
    {
        var path = Path.Combine(builder.DataDirectory(), "secrets", name);
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var secret = generate();
        WriteSecretFile(path, secret);
        return secret;
    }

    /// <summary>Writes a file that only its owner may read, since it holds a password.</summary>
    internal static void WriteSecretFile(string path, string contents)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options);
        writer.Write(contents);
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddLocalRedis(
        this IDistributedApplicationBuilder builder, string name, string command, IResourceBuilder<ParameterResource> password)
    {
        var directory = Directory.CreateDirectory(Path.Combine(builder.DataDirectory(), name)).FullName;
        var port = LocalServer.FreePort();
        var redis = new LocalServerResource(name, command, directory,
            ReferenceExpression.Create($"127.0.0.1:{port.ToString()},password={password.Resource}"));

        // Parameter values are already in memory by the time health checks run, so this wait is brief.
        builder.Services.AddHealthChecks().AddRedis(
            _ => ConnectionStringOf(redis).AsTask().GetAwaiter().GetResult(), name: $"{name}-check");

        // The password goes in a config file only the owner can read, not on the command line for all to see.
        var configFile = Path.Combine(directory, "redis.conf");
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(redis, async (_, cancellationToken) =>
            WriteSecretFile(configFile, $"requirepass {await password.Resource.GetValueAsync(cancellationToken)}\n"));

        return builder.AddResource(redis)
            .WithEndpoint(name: LocalServerResource.EndpointName, port: port, targetPort: port, scheme: "tcp", isProxied: false)
            .WithArgs(configFile, "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", directory, "--appendonly", "yes")
            .WithHealthCheck($"{name}-check");
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddLocalRabbitMQ(
        this IDistributedApplicationBuilder builder, string name, string command,
        IResourceBuilder<ParameterResource> userName, IResourceBuilder<ParameterResource> password)
    {
        var directory = Directory.CreateDirectory(Path.Combine(builder.DataDirectory(), name)).FullName;
        var port = LocalServer.FreePort();
        var managementPort = LocalServer.FreePort();
        var rabbitmq = new LocalServerResource(name, command, directory,
            ReferenceExpression.Create($"amqp://{userName.Resource}:{password.Resource}@127.0.0.1:{port.ToString()}"));

        IConnection? connection = null;
        builder.Services.AddHealthChecks().AddRabbitMQ(
            async _ => connection ??= await new ConnectionFactory { Uri = new(await ConnectionStringOf(rabbitmq)) }.CreateConnectionAsync(),
            name: $"{name}-check");

        // The node name is stable per data folder, so messages in durable queues survive restarts.
        var nodeName = $"modelplatform-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(directory)))[..8]}@localhost";
        var configFile = Path.Combine(directory, "rabbitmq.conf");
        var resource = builder.AddResource(rabbitmq)
            .WithEndpoint(name: LocalServerResource.EndpointName, port: port, targetPort: port, scheme: "tcp", isProxied: false)
            .WithHttpEndpoint(name: "management", port: managementPort, targetPort: managementPort, isProxied: false)
            .WithEnvironment("HOME", directory)
            .WithEnvironment("RABBITMQ_NODENAME", nodeName)
            .WithEnvironment("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .WithEnvironment("RABBITMQ_NODE_PORT", port.ToString())
            .WithEnvironment("RABBITMQ_DIST_PORT", LocalServer.FreePort().ToString())
            .WithEnvironment("RABBITMQ_MNESIA_BASE", Path.Combine(directory, "mnesia"))
            .WithEnvironment("RABBITMQ_LOG_BASE", Path.Combine(directory, "log"))
            .WithEnvironment("RABBITMQ_PID_FILE", Path.Combine(directory, "rabbitmq.pid"))
            .WithEnvironment("RABBITMQ_CONFIG_FILE", configFile)
            .WithEnvironment("RABBITMQ_CONF_ENV_FILE", Path.Combine(directory, "rabbitmq-env.conf"))
            .WithEnvironment("RABBITMQ_ENABLED_PLUGINS_FILE", Path.Combine(directory, "enabled_plugins"))
            .WithHealthCheck($"{name}-check");

        // The broker reads its credentials from its config file; write it once the parameters have values.
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(rabbitmq, async (_, cancellationToken) =>
        {
            var user = await userName.Resource.GetValueAsync(cancellationToken);
            var pass = await password.Resource.GetValueAsync(cancellationToken);
            WriteSecretFile(configFile, $"""
                listeners.tcp.1 = 127.0.0.1:{port}
                default_user = {user}
                default_pass = {pass}
                management.tcp.ip = 127.0.0.1
                management.tcp.port = {managementPort}
                """);
            await File.WriteAllTextAsync(Path.Combine(directory, "rabbitmq-env.conf"), "", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "enabled_plugins"), "[rabbitmq_management].", cancellationToken);
        });

        return resource;
    }

    internal static async ValueTask<string> ConnectionStringOf(IResourceWithConnectionString resource) =>
        await resource.ConnectionStringExpression.GetValueAsync(CancellationToken.None)
            ?? throw new InvalidOperationException($"{resource.Name} has no connection string yet.");
}

/// <summary>A server started from a local executable that other resources reference by connection string.</summary>
internal sealed class LocalServerResource(string name, string command, string workingDirectory, ReferenceExpression connectionString)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public ReferenceExpression ConnectionStringExpression { get; } = connectionString;
}

internal static class LocalServer
{
    /// <summary>The full path of <paramref name="program"/> on PATH or in one of <paramref name="extraDirectories"/>.</summary>
    public static string? Find(string program, params string[] extraDirectories)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        // Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user when run as root; the
        // script in /usr/lib/rabbitmq/bin runs as whoever starts it, so it is tried first.
        return extraDirectories.Concat(path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)).Append("/usr/sbin")
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// A loopback port free now, for a server started seconds later. It is drawn below the ports the OS hands out to
    /// outgoing connections (from 32768 on Linux, 49152 on macOS and Windows): a port the OS chose (port 0) comes from
    /// that range, and a connection made meanwhile could take it first, as one did from PostgreSQL under the tests.
    /// </summary>
    public static int FreePort()
    {
        const int First = 20_000, Last = 32_767;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(First, Last + 1);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: draw another.
            }
        }

        throw new InvalidOperationException($"No free loopback port between {First} and {Last} after 100 tries.");
    }
}

/// <summary>Whether Docker or Podman answers; asked once, before any container resource is added.</summary>
internal static class ContainerRuntime
{
    private static readonly Lazy<bool> Available = new(() => Answers("docker") || Answers("podman"));

    public static bool IsAvailable => Available.Value;

    private static bool Answers(string runtime)
    {
        if (LocalServer.Find(runtime) is not { } path)
        {
            return false;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(path, "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return false;
        }
    }
}
