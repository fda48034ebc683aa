namespace Nanobox.Node.Security;

/// <summary>
/// Lowercase RFC 4648 base32 without padding: safe in DNS names, file names, certificate subjects
/// and tokens a person copies, with no characters a shell or URL would treat specially.
/// </summary>
public static class Base32
{
    public const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static int EncodedLength(int byteCount) => (byteCount * 8 + 4) / 5;

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[EncodedLength(bytes.Length)];
        int buffer = 0, bits = 0, next = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[next++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            chars[next] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars);
    }

    /// <summary>
    /// Decodes <paramref name="text"/> into exactly <paramref name="destination"/>.Length bytes. Refuses
    /// a wrong length, a character outside the alphabet (reported by position) and non-zero padding
    /// bits, so every value has exactly one spelling.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int invalidPosition)
    {
        invalidPosition = -1;
        if (text.Length != EncodedLength(destination.Length))
        {
            return false;
        }

        int buffer = 0, bits = 0, next = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var value = Alphabet.IndexOf(text[i]);
            if (value < 0)
            {
                invalidPosition = i;
                return false;
            }

            buffer = ((buffer << 5) | value) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                destination[next++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
            }
        }

        if ((buffer & ((1 << bits) - 1)) != 0)
        {
            invalidPosition = text.Length - 1;
            return false;
        }

        return true;
    }
}
