using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace ModelPlatform.Identity.Keys;

/// <summary>
/// Making and checking key secrets. A key is 192 random bits, so a salted HMAC-SHA256 is as strong as a slow password
/// hash would be, at a cost an introspection can pay on every cache miss. Its first characters are stored in the clear to
/// find the row; only the salted hash can confirm the rest.
/// </summary>
public static class ApiKeySecrets
{
    public const string Prefix = "mpk_";
    public const int MinLength = 24;
    public const int LookupLength = 12;

    public static string NewKey() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));

    public static string Lookup(string key) => key[..Math.Min(LookupLength, key.Length)];

    public static (byte[] Salt, byte[] Hash) Hash(string key)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        return (salt, HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(key)));
    }

    public static bool Matches(string key, byte[] salt, byte[] hash) =>
        CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(key)), hash);
}
