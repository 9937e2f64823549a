using System.Buffers.Text;
using System.Security.Cryptography;

/// <summary>
/// The platform's own API keys, as Aspire secret parameters the dashboard lists: the first admin key, and one identity
/// per service. Locally each is made on first run and kept under the data folder (<c>scripts/admin-key.sh</c> prints the
/// admin's); deployed, azd generates them.
/// </summary>
internal static class PlatformKeys
{
    public static IResourceBuilder<ParameterResource> AddApiKey(this IDistributedApplicationBuilder builder, string name) =>
        builder.ExecutionContext.IsPublishMode
            ? builder.AddParameter(name, new GenerateParameterDefault { MinLength = 40, Special = false }, secret: true)
            : builder.AddLocalSecret(name, () => "mpk_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24)));

    /// <summary>Gives <paramref name="service"/> its own identity: a key the identity service knows under the service's name.</summary>
    public static IResourceBuilder<ProjectResource> WithServiceIdentity(
        this IResourceBuilder<ProjectResource> service, IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> identity)
    {
        var key = builder.AddApiKey($"{service.Resource.Name}-api-key");
        identity.WithEnvironment($"ApiKeysOptions__ServiceKeys__{service.Resource.Name}", key);
        return service.WithEnvironment("Identity__ServiceKey", key)
            .WithReference(identity).WaitFor(identity);
    }
}
