namespace Nanobox.Node.Security;

/// <summary>
/// When a node renews its certificate: at a random point between 50 % and 80 % of its life, as
/// swarmkit does, so nodes that joined together do not all ask the leader at the same moment and a
/// failed renewal still leaves a fifth of the life to retry.
/// </summary>
public static class CertificateRenewal
{
    public const double EarliestFraction = 0.5;
    public const double LatestFraction = 0.8;

    public static DateTimeOffset NextRenewal(DateTimeOffset notBefore, DateTimeOffset notAfter, Random random)
    {
        if (notAfter <= notBefore)
        {
            return notBefore;
        }

        var fraction = EarliestFraction + random.NextDouble() * (LatestFraction - EarliestFraction);
        return notBefore + (notAfter - notBefore) * fraction;
    }
}
