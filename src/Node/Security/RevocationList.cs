using System.Collections.Frozen;

namespace Nanobox.Node.Security;

/// <summary>
/// Revoked node ids and certificate serials: an immutable snapshot, looked up at every handshake.
/// A removed node is revoked by id, so neither its current certificate nor any it could still
/// obtain is accepted, and node ids are never reused. Serials revoke a single certificate (a
/// leaked key) while the node lives on with a new one.
/// </summary>
public sealed class RevocationList
{
    public static readonly RevocationList Empty = new([], []);

    private readonly FrozenSet<string> _nodeIds;
    private readonly FrozenSet<string> _serials;

    /// <param name="serialNumbers">Hexadecimal, as <see cref="System.Security.Cryptography.X509Certificates.X509Certificate2.SerialNumber"/> spells them (any case).</param>
    public RevocationList(IEnumerable<string> nodeIds, IEnumerable<string> serialNumbers)
    {
        _nodeIds = nodeIds.ToFrozenSet(StringComparer.Ordinal);
        _serials = serialNumbers.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyCollection<string> NodeIds => _nodeIds;

    public IReadOnlyCollection<string> SerialNumbers => _serials;

    public bool IsNodeRevoked(string nodeId) => _nodeIds.Contains(nodeId);

    public bool IsRevoked(string nodeId, string serialNumber) => _nodeIds.Contains(nodeId) || _serials.Contains(serialNumber);

    public RevocationList WithNode(string nodeId) => new(_nodeIds.Append(nodeId), _serials);

    public RevocationList WithSerialNumber(string serialNumber) => new(_nodeIds, _serials.Append(serialNumber));
}
