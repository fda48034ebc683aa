using System.Security.Cryptography;
using System.Text;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class SecretBoxTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(SecretBox.KeySize);
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("-----BEGIN PRIVATE KEY-----...");

    [Fact]
    public void A_sealed_secret_opens_with_the_same_key_and_purpose_and_hides_the_plaintext()
    {
        var sealedBytes = SecretBox.Seal(Key, Secret, "ca-key");

        Assert.Equal(Secret, SecretBox.Open(Key, sealedBytes, "ca-key"));
        Assert.DoesNotContain("PRIVATE", Encoding.UTF8.GetString(sealedBytes));
        Assert.NotEqual(sealedBytes, SecretBox.Seal(Key, Secret, "ca-key"));
    }

    [Fact]
    public void Another_key_or_purpose_does_not_open_it()
    {
        var sealedBytes = SecretBox.Seal(Key, Secret, "ca-key");

        Assert.Null(SecretBox.Open(RandomNumberGenerator.GetBytes(32), sealedBytes, "ca-key"));
        Assert.Null(SecretBox.Open(Key, sealedBytes, "gossip-keys"));
    }

    [Fact]
    public void Every_bit_flip_and_truncation_is_refused()
    {
        var sealedBytes = SecretBox.Seal(Key, Secret, "ca-key");

        for (var i = 0; i < sealedBytes.Length * 8; i++)
        {
            Assert.Null(SecretBox.Open(Key, Tamper.Flip(sealedBytes, i / 8, i % 8), "ca-key"));
        }

        for (var length = 0; length < sealedBytes.Length; length++)
        {
            Assert.Null(SecretBox.Open(Key, sealedBytes.AsSpan(0, length), "ca-key"));
        }
    }

    [Fact]
    public void A_key_of_the_wrong_size_is_a_programming_error()
    {
        Assert.Throws<ArgumentException>(() => SecretBox.Seal(new byte[16], Secret, "ca-key"));
    }
}
