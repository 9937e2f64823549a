using System.Data.Common;
using System.Globalization;
using Dapper;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Online;

/// <summary>
/// Which replica runs a view's scheduled materialization. Every replica's scheduler looks at every view; the one that claims
/// a due view holds it under a lease until its run ends. A claim is made under the lock a run records itself with, so another
/// replica sees either the lease or the finished run, and never runs the view again in between. A replica that dies mid-run
/// holds its view until the lease runs out; then another takes it.
/// </summary>
public sealed class MaterializationLeases(ServiceDatabase database, TimeProvider clock)
{
    public static readonly Migration Migration = Migration.Portable(
        """
        CREATE TABLE materialization_leases (
            view TEXT PRIMARY KEY,
            leased_by TEXT NOT NULL,
            leased_until TEXT NOT NULL);
        """);

    /// <summary>
    /// Claims the view for <paramref name="owner"/> for <paramref name="lease"/> if it is due and nobody holds it: due when it
    /// was never materialized, or its materialized window ended <paramref name="every"/> ago or more.
    /// </summary>
    public async Task<bool> TryClaimAsync(string viewName, TimeSpan every, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Most checks find nothing due: only a view that looks due takes the write lock, and is looked at again under it.
        if (!await IsDueAsync(connection, null, viewName, every, cancellationToken))
        {
            return false;
        }

        await using var transaction = await database.BeginWriteAsync(connection, Materialization.Resource(viewName), cancellationToken);
        if (!await IsDueAsync(connection, transaction, viewName, every, cancellationToken))
        {
            return false;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO materialization_leases (view, leased_by, leased_until) VALUES (@viewName, @owner, @until)
            ON CONFLICT (view) DO UPDATE SET leased_by = excluded.leased_by, leased_until = excluded.leased_until
            """,
            new { viewName, owner, until = (clock.GetUtcNow() + lease).ToUniversalTime().ToString("O") }, transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Gives the view back after its run: free at once, or held until <paramref name="retryAt"/> (after a failure, so a broken
    /// view is not tried at every check). A lease that ran out and went to another replica stays theirs.
    /// </summary>
    public async Task ReleaseAsync(string viewName, string owner, DateTimeOffset? retryAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            retryAt is null
                ? "DELETE FROM materialization_leases WHERE view = @viewName AND leased_by = @owner"
                : "UPDATE materialization_leases SET leased_until = @retryAt WHERE view = @viewName AND leased_by = @owner",
            new { viewName, owner, retryAt = retryAt?.ToUniversalTime().ToString("O") }, cancellationToken: cancellationToken));
    }

    private async Task<bool> IsDueAsync(
        DbConnection connection, DbTransaction? transaction, string viewName, TimeSpan every, CancellationToken cancellationToken)
    {
        var (lastEnd, leasedUntil) = await connection.QuerySingleAsync<(string?, string?)>(new CommandDefinition(
            """
            SELECT (SELECT MAX(window_end) FROM materializations WHERE view = @viewName),
                   (SELECT leased_until FROM materialization_leases WHERE view = @viewName)
            """,
            new { viewName }, transaction, cancellationToken: cancellationToken));
        var now = clock.GetUtcNow();
        return (lastEnd is null || Time(lastEnd) <= now - every) && (leasedUntil is null || Time(leasedUntil) <= now);
    }

    private static DateTimeOffset Time(string stored) => DateTimeOffset.Parse(stored, CultureInfo.InvariantCulture);
}
