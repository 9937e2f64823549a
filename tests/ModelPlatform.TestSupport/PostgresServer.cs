using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace ModelPlatform.TestSupport;

/// <summary>
/// A real PostgreSQL server for the store tests, from the machine's own binaries (Debian's <c>postgresql</c> package,
/// which <c>scripts/prerequisites.sh</c> installs): a new cluster in a temporary folder, on a free loopback port,
/// stopped and deleted afterwards. PostgreSQL refuses to run as root, so as root it runs as the <c>postgres</c> user.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private const string SystemUser = "postgres";
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("modelplatform-postgres-");
    private readonly Process _server;
    private readonly int _port;

    public PostgresServer()
    {
        var bin = FindBinaries();
        var data = Path.Combine(_directory.FullName, "data");
        if (Environment.IsPrivilegedProcess)
        {
            Run("chown", SystemUser, _directory.FullName);
        }

        Run(Path.Combine(bin, "initdb"), "-D", data, "-U", SystemUser, "--auth=trust", "--no-sync", "-E", "UTF8");
        _port = FreePort();
        // fsync off: a test cluster that a crash loses is fine, and the tests run much faster without the syncs.
        _server = Start(Path.Combine(bin, "postgres"), "-D", data, "-p", _port.ToString(), "-h", "127.0.0.1", "-k", _directory.FullName,
            "-c", "fsync=off", "-c", "max_connections=300");
        WaitUntilReady();
    }

    /// <summary>A connection string to database <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = _port, Username = SystemUser, Database = database }.ConnectionString;

    public void Drop(string database)
    {
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
        drop.ExecuteNonQuery();
    }

    private static string FindBinaries()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .FirstOrDefault(directory => File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "postgres")));
        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(version => int.TryParse(Path.GetFileName(version), out var v) ? v : 0)
                .Select(version => Path.Combine(version, "bin")).FirstOrDefault(bin => File.Exists(Path.Combine(bin, "initdb")))
            : null;
        return onPath ?? installed ?? throw new InvalidOperationException(
            "The store tests need PostgreSQL's initdb and postgres: 'sudo apt-get install -y postgresql' (scripts/prerequisites.sh does it).");
    }

    private static ProcessStartInfo AsServerUser(string program, string[] arguments)
    {
        var start = Environment.IsPrivilegedProcess && program != "chown"
            ? new ProcessStartInfo("runuser", ["-u", SystemUser, "--", program, .. arguments])
            : new ProcessStartInfo(program, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        return start;
    }

    private static void Run(string program, params string[] arguments)
    {
        using var process = Process.Start(AsServerUser(program, arguments))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {output.Result}{errors}");
        }
    }

    private static Process Start(string program, params string[] arguments)
    {
        var process = Process.Start(AsServerUser(program, arguments))!;
        // Drained, so the server never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void WaitUntilReady()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
                connection.Open();
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException && deadline.Elapsed < TimeSpan.FromSeconds(60) && !_server.HasExited)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        if (!_server.HasExited)
        {
            // runuser passes SIGTERM on: the server's "smart" shutdown, quick once the pools are closed.
            _server.Kill(entireProcessTree: true);
            _server.WaitForExit(TimeSpan.FromSeconds(30));
        }

        _server.Dispose();
        _directory.Delete(recursive: true);
    }
}
