using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using ModelPlatform.Contracts;

namespace Microsoft.Extensions.Hosting;

/// <summary>One role's budget: a token bucket per key, per replica.</summary>
public sealed class RoleRateLimit
{
    /// <summary>Requests a second, sustained; 0 means no limit.</summary>
    public double PermitsPerSecond { get; set; }

    /// <summary>Requests allowed at once above the sustained rate.</summary>
    public int Burst { get; set; }
}

/// <summary>The <c>RateLimits</c> section: a budget per role. A key with several roles gets the most generous of them.</summary>
public sealed class RateLimitOptions
{
    public Dictionary<string, RoleRateLimit> Roles { get; set; } = new()
    {
        [PlatformRoles.Reader] = new() { PermitsPerSecond = 200, Burst = 400 },
        [PlatformRoles.Predictor] = new() { PermitsPerSecond = 50_000, Burst = 100_000 },
        [PlatformRoles.Scientist] = new() { PermitsPerSecond = 50, Burst = 100 },
        [PlatformRoles.Deployer] = new() { PermitsPerSecond = 20, Burst = 40 },
        [PlatformRoles.Admin] = new() { PermitsPerSecond = 50, Burst = 100 },
        // The platform's own calls are bounded by the work they serve.
        [PlatformRoles.Service] = new() { PermitsPerSecond = 0 },
    };
}

/// <summary>
/// Per-key rate limits with ASP.NET Core's rate limiter: a token bucket per key, sized by its roles. A caller over its
/// budget gets a 429 with <c>Retry-After</c>. Callers without a key are not limited here: they are refused before any work.
/// </summary>
internal static class RateLimits
{
    public static void AddKeyRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration("RateLimits");
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = RefuseAsync;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var key = context.User.FindFirst(ApiKeyClaims.KeyId)?.Value;
                if (key is null)
                {
                    return RateLimitPartition.GetNoLimiter("");
                }

                var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>().Value;
                var budget = Budget(context.User.FindAll(ApiKeyClaims.Role).Select(role => role.Value), options);
                return budget is null ? RateLimitPartition.GetNoLimiter(key) : RateLimitPartition.GetTokenBucketLimiter(key, _ => Bucket(budget));
            });
        });
    }

    /// <summary>Refilled ten times a second (at most), so a budget is smooth rather than a burst each second.</summary>
    private static TokenBucketRateLimiterOptions Bucket(RoleRateLimit budget)
    {
        var tokensPerPeriod = Math.Max(1, (int)Math.Ceiling(budget.PermitsPerSecond / 10));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, budget.Burst),
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds(tokensPerPeriod / budget.PermitsPerSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    /// <summary>The most generous budget among <paramref name="roles"/>; null when one of them is unlimited.</summary>
    private static RoleRateLimit? Budget(IEnumerable<string> roles, RateLimitOptions options)
    {
        RoleRateLimit? best = null;
        foreach (var role in roles)
        {
            if (!options.Roles.TryGetValue(role, out var budget))
            {
                continue;
            }

            if (budget.PermitsPerSecond <= 0)
            {
                return null;
            }

            best = best is null || budget.PermitsPerSecond > best.PermitsPerSecond ? budget : best;
        }

        return best ?? options.Roles.GetValueOrDefault(PlatformRoles.Reader);
    }

    private static async ValueTask RefuseAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await Refusal.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too many requests",
            $"The API key '{context.User.Identity?.Name}' is over its request budget; retry in {seconds} s.");
    }
}
