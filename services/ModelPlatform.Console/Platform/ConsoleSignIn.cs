using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace ModelPlatform.Console.Platform;

/// <summary>
/// A person signs in with an API key. The identity service vouches for it, as for any caller of the APIs, and the session is
/// a cookie that holds the key and its roles, encrypted: HTTP-only, sent over TLS only, to this site only. The console
/// calls the services with the key, so each call is the person's own, with their roles and under their name in the audit.
/// A revoked key ends its sessions at their next request.
/// </summary>
public static class ConsoleSignIn
{
    /// <summary>The claim that carries the signed-in key, inside the encrypted cookie; never shown.</summary>
    public const string KeyClaim = "modelplatform:api-key";

    public const string SignInPath = "/sign-in";

    public static IHostApplicationBuilder AddConsoleSignIn(this IHostApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(options => options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.LoginPath = SignInPath;
                options.AccessDeniedPath = "/denied";
                // __Host-: the browser keeps it for this origin only, over TLS, for every path.
                options.Cookie.Name = "__Host-modelplatform-console";
                options.Cookie.HttpOnly = true;
                options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = true;
                options.Events.OnValidatePrincipal = StillValidAsync;
            });
        builder.Services.AddCascadingAuthenticationState();

        // Replicas share the keys that encrypt the cookie, so a session survives a restart and any replica reads it.
        builder.Services.AddDataProtection().SetApplicationName("ModelPlatform.Console");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<IConnectionMultiplexer>((options, redis) =>
            options.XmlRepository = new RedisXmlRepository(() => redis.GetDatabase(), "modelplatform:console:data-protection"));
        return builder;
    }

    /// <summary>The principal a session holds for <paramref name="key"/>: who the identity service says holds it, and the key.</summary>
    public static ClaimsPrincipal Principal(ClaimsPrincipal holder, string key)
    {
        var claims = holder.Claims.Select(claim => new Claim(claim.Type, claim.Value)).Append(new Claim(KeyClaim, key));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme, ApiKeyClaims.Name, ApiKeyClaims.Role));
    }

    /// <summary>Ends the session (a form post, so another site cannot sign anyone out with a link).</summary>
    public static IEndpointRouteBuilder MapSignOut(this IEndpointRouteBuilder app)
    {
        app.MapPost("/sign-out", async (HttpContext context, IFormCollection form) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return TypedResults.LocalRedirect(SignInPath);
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    /// <summary>Where to go after signing in: a path on this site, or the overview.</summary>
    public static string LocalReturnUrl(string? returnUrl) => RedirectHttpResult.IsLocalUrl(returnUrl) ? returnUrl : "/";

    /// <summary>The key of the signed-in person, or null.</summary>
    public static string? Key(this ClaimsPrincipal user) => user.FindFirst(KeyClaim)?.Value;

    // Each request rechecks the key (the answer is cached for seconds, as every service caches it): a revoked key signs out.
    private static async Task StillValidAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal?.Key() is not { } key
            || (await context.HttpContext.RequestServices.GetRequiredService<ApiKeyCache>().CheckAsync(key, context.HttpContext.RequestAborted))
                .Authenticated is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }
}
