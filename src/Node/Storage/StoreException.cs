namespace Nanobox.Node.Storage;

/// <summary>The store cannot be used as it is; the message says why and what the operator can do.</summary>
public sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner);
