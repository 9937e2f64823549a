using System.IO.Hashing;
using System.Text;
using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Picks the version that answers a request on an alias with a canary. With a routing key the choice is sticky: a
/// key always falls in the same one of 100 buckets, in every replica, and raising the canary's share only moves
/// keys from the main version to the canary, never back. Without a key, each request is drawn at random.
/// </summary>
public static class TrafficSplit
{
    public static int Choose(AliasRoute route, string? routingKey)
    {
        if (route.Canary is not { } canary)
        {
            return route.Version;
        }

        var bucket = string.IsNullOrEmpty(routingKey) ? Random.Shared.Next(100) : Bucket(routingKey);
        return bucket < canary.Percent ? canary.Version : route.Version;
    }

    /// <summary>The key's bucket, 0 to 99: a hash that is the same in every process (unlike <see cref="string.GetHashCode()"/>).</summary>
    public static int Bucket(string routingKey) => (int)(XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(routingKey)) % 100);
}
