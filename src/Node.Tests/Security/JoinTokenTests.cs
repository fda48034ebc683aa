using System.Security.Cryptography;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class JoinTokenTests
{
    private static readonly byte[] CaDer = RandomNumberGenerator.GetBytes(400);

    [Fact]
    public void A_token_carries_the_CA_digest_and_a_fresh_secret_in_lowercase_base32()
    {
        var token = JoinToken.Create(CaDer);
        var text = token.Reveal();

        Assert.Matches("^NBX1-[a-z2-7]{52}-[a-z2-7]{32}$", text);
        Assert.Equal(Base32.Encode(SHA256.HashData(CaDer)), text.Split('-')[1]);
        Assert.NotEqual(text, JoinToken.Create(CaDer).Reveal());
    }

    [Fact]
    public void A_token_round_trips_and_pins_its_CA_only()
    {
        var token = JoinToken.Parse(JoinToken.Create(CaDer).Reveal());

        Assert.True(token.MatchesCa(CaDer));
        var otherCa = (byte[])CaDer.Clone();
        otherCa[^1] ^= 1;
        Assert.False(token.MatchesCa(otherCa));
    }

    [Fact]
    public void ToString_masks_the_secret()
    {
        var token = JoinToken.Create(CaDer);
        var secret = token.Reveal().Split('-')[2];

        Assert.Matches("^NBX1-[a-z2-7]{8}…-\\*{4}$", token.ToString());
        Assert.DoesNotContain(secret, token.ToString());
        Assert.DoesNotContain(secret, $"{token}");
    }

    [Theory]
    [InlineData("", "should start with NBX1-")]
    [InlineData("SWMTKN-1-abc-def", "should start with NBX1-")]
    [InlineData("NBX2-aaaa-bbbb", "version '2' is not supported")]
    [InlineData("NBX1-aaaa", "three parts")]
    [InlineData("NBX1-a-b-c", "three parts")]
    [InlineData("NBX1-aaaa-bbbb", "CA digest has 4 characters, expected 52")]
    public void Malformed_tokens_are_refused_with_a_precise_reason(string text, string reason)
    {
        Assert.False(JoinToken.TryParse(text, out var token, out var error));
        Assert.Null(token);
        Assert.Contains(reason, error);
        Assert.Contains(reason, Assert.Throws<FormatException>(() => JoinToken.Parse(text)).Message);
    }

    [Fact]
    public void A_bad_character_in_the_secret_is_reported_by_position_without_echoing_the_secret()
    {
        var parts = JoinToken.Create(CaDer).Reveal().Split('-');
        var secret = parts[2][..9] + "1" + parts[2][10..];

        Assert.False(JoinToken.TryParse($"NBX1-{parts[1]}-{secret}", out _, out var error));

        Assert.Contains("secret", error);
        Assert.Contains("position 10", error);
        Assert.DoesNotContain(secret[..9], error);
    }

    [Fact]
    public void A_truncated_secret_is_refused()
    {
        var text = JoinToken.Create(CaDer).Reveal();

        Assert.False(JoinToken.TryParse(text[..^1], out _, out var error));
        Assert.Contains("secret has 31 characters, expected 32", error);
    }

    [Fact]
    public void Surrounding_whitespace_from_a_copy_and_paste_is_ignored()
    {
        var text = JoinToken.Create(CaDer).Reveal();

        Assert.Equal(text, JoinToken.Parse($"  {text}\n").Reveal());
    }
}
