using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ModelPlatform.TestSupport;

/// <summary>
/// A real Redis server for the tests, from the machine's own binary (Debian's <c>redis-server</c> package, which
/// <c>scripts/prerequisites.sh</c> installs): on a free loopback port, in a temporary folder, with persistence off,
/// stopped and deleted afterwards.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("modelplatform-redis-");
    private readonly StringBuilder _output = new();
    private readonly Process _server;

    public RedisServer()
    {
        Port = FreePort();
        var start = new ProcessStartInfo(FindBinary(),
            ["--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _directory.FullName, "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _server = Process.Start(start)!;
        // Kept for the error message if the server does not come up, and drained so it never blocks on a full pipe.
        _server.OutputDataReceived += (_, line) => Remember(line.Data);
        _server.ErrorDataReceived += (_, line) => Remember(line.Data);
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        WaitUntilReady();
    }

    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    private static string FindBinary()
    {
        string[] directories = [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
        return directories.Select(directory => Path.Combine(directory, "redis-server")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                "These tests need redis-server: 'sudo apt-get install -y redis-server' (scripts/prerequisites.sh does it).");
    }

    private void Remember(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private void WaitUntilReady()
    {
        var deadline = Stopwatch.StartNew();
        while (!Answers())
        {
            if (_server.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                lock (_output)
                {
                    throw new InvalidOperationException($"redis-server did not start on port {Port}: {_output}");
                }
            }

            Thread.Sleep(50);
        }
    }

    // A PING by hand, so this helper needs no Redis client.
    private bool Answers()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var reply = new byte[7];
            var read = stream.Read(reply);
            return Encoding.ASCII.GetString(reply, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
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
        if (!_server.HasExited)
        {
            _server.Kill(entireProcessTree: true);
            _server.WaitForExit(TimeSpan.FromSeconds(30));
        }

        _server.Dispose();
        _directory.Delete(recursive: true);
    }
}
