using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class Base32Tests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("f", "my")]
    [InlineData("fo", "mzxq")]
    [InlineData("foo", "mzxw6")]
    [InlineData("foob", "mzxw6yq")]
    [InlineData("fooba", "mzxw6ytb")]
    [InlineData("foobar", "mzxw6ytboi")]
    public void Encodes_the_RFC_4648_vectors_in_lowercase_and_decodes_them_back(string plain, string encoded)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(plain);

        Assert.Equal(encoded, Base32.Encode(bytes));
        var decoded = new byte[bytes.Length];
        Assert.True(Base32.TryDecode(encoded, decoded, out _));
        Assert.Equal(bytes, decoded);
    }

    [Theory]
    [InlineData("mzxw6y", -1)]   // too short for 4 bytes
    [InlineData("mzxw6yqq", -1)] // too long
    [InlineData("mzxW6yq", 3)]   // uppercase
    [InlineData("mzxw0yq", 4)]   // not in the alphabet
    [InlineData("mzxw6yr", 6)]   // non-zero padding bits: a second spelling of "foob"
    public void Refuses_wrong_lengths_characters_and_padding_bits(string text, int position)
    {
        Assert.False(Base32.TryDecode(text, new byte[4], out var invalid));
        Assert.Equal(position, invalid);
    }
}
