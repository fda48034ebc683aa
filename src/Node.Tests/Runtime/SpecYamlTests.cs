using System.Text;
using Nanobox.Node.Runtime.Spec;
using static Nanobox.Node.Tests.Runtime.SpecTestData;

namespace Nanobox.Node.Tests.Runtime;

/// <summary>The YAML layer: what the reader refuses before any spec key is looked at.</summary>
public sealed class SpecYamlTests
{
    [Theory]
    [InlineData("")]
    [InlineData("   \n\n")]
    [InlineData("# only a comment\n")]
    [InlineData("---\n")]
    [InlineData("~")]
    public void An_empty_file_is_refused(string yaml) =>
        Assert.Equal(["line 1: the file is empty; start with app: NAME and add a component, e.g. web.main: { image: busybox:1.36 }"], Errors(yaml));

    [Fact]
    public void The_top_level_must_be_a_mapping()
    {
        Assert.Equal(["line 1: is a list; give a mapping with app: NAME and components such as web.main"], Errors("- app: shop"));
        Assert.Equal(["line 1: just text is a single value; give a mapping with app: NAME and components such as web.main"], Errors("just text"));
        Assert.Equal([$"line 1: {new string('x', 40)}... is a single value; give a mapping with app: NAME and components such as web.main"], Errors(new string('x', 50)));
    }

    [Fact]
    public void Duplicate_keys_are_refused_at_every_level_not_last_wins()
    {
        var errors = Errors("""
            app: shop
            web.main:
              image: a
              image: b
              env: { A: 1, A: 2 }
            web.main:
              image: c
            app: shop2
            """);

        Assert.Equal(
        [
            "line 4: web.main.image: is given twice (first on line 3); keep one of them",
            "line 5: web.main.env.A: is given twice (first on line 5); keep one of them",
            "line 6: web.main: is given twice (first on line 2); keep one of them",
            "line 8: app: is given twice (first on line 1); keep one of them",
        ],
            errors);
    }

    [Fact]
    public void Anchors_aliases_and_merge_keys_are_refused()
    {
        var errors = Errors("""
            app: shop
            web.a:
              image: busybox
              env: &common { A: b }
            web.b:
              image: busybox
              env: *common
            web.c:
              <<: *common
              image: busybox
            """);

        Assert.Equal(
        [
            "line 4: web.a.env: defines the anchor &common; remove it: anchors and aliases are not accepted",
            "line 7: web.b.env: uses the alias *common; write the value out: anchors and aliases are not accepted",
            "line 9: web.c.<<: is not a known key; remove it; known keys here: image, command, env, ports, replicas, labels, constraints, resources, writable_dirs, network_dirs, user, cap_add, restart_backoff_max",
            "line 9: web.c.<<: uses the alias *common; write the value out: anchors and aliases are not accepted",
        ],
            errors);
    }

    [Fact]
    public void Tags_are_refused_because_values_are_read_as_written()
    {
        Assert.Equal(
            ["line 4: web.main.replicas: has the tag tag:yaml.org,2002:int; remove it: tags are not accepted; values are read as written"],
            Errors(WebMain("replicas: !!int 2")));
        Assert.Equal(
            ["line 4: web.main.env: has the tag !custom; remove it: tags are not accepted; values are read as written"],
            Errors(WebMain("env: !custom { A: b }")));
    }

    [Fact]
    public void Keys_must_be_scalars()
    {
        Assert.Equal(
            ["line 4: web.main: has a list or a mapping as a key; keys are plain names such as image or web.main"],
            Errors(WebMain("? [a, b]\n: x")));
    }

    [Fact]
    public void One_document_per_file()
    {
        Assert.Equal(["line 4: a second YAML document starts here; keep one app per file"], Errors(WebMain("") + "---\napp: other\n"));
    }

    [Theory]
    [InlineData("app: shop\nweb.main:\n  image: a\n   replicas: 2\n", 4)]
    [InlineData("app: shop\nweb.main: { image: a\n", 3)]
    [InlineData("app: shop\nweb.main:\n  env: \"unterminated\n", 3)]
    [InlineData("app: shop\nweb.main: { ports: [1, 2\nweb.b: {}\n", 2)]
    [InlineData("app: shop\nweb.main: a: b\n", 2)]
    [InlineData("app: shop\n\tweb.main: {}\n", 2)]
    public void Syntax_errors_name_their_line(string yaml, int line)
    {
        var error = Assert.Single(AppSpecParser.Parse(yaml, AppSpecPolicy.Default).Errors);

        Assert.Equal(line, error.Line);
        Assert.StartsWith("the YAML is not valid", error.Problem);
        Assert.DoesNotContain("Idx:", error.Problem);
        Assert.Contains("fix the syntax", error.Fix);
    }

    [Fact]
    public void Deep_nesting_is_refused_without_exhausting_the_stack()
    {
        var deep = "app: shop\nweb.main:\n  env: " + new string('[', 120_000) + new string(']', 120_000) + "\n";

        Assert.Equal(
            [$"line 3: web.main.env[0][0][0][0][0][0]: nests deeper than {SpecYamlReader.MaxDepth} levels; flatten it: no spec key takes values this deep"],
            Errors(deep));
    }

    [Fact]
    public void Mangled_files_never_throw_and_every_error_has_a_position()
    {
        const string noise = "[]{}:,-?'\"&*!|>#%@`\t\n \\.~0";
        var random = new Random(20250601);
        for (var i = 0; i < 3000; i++)
        {
            var text = new StringBuilder(SpecTestData.Shop);
            for (var edits = random.Next(1, 6); edits > 0; edits--)
            {
                var at = random.Next(text.Length);
                switch (random.Next(3))
                {
                    case 0: text.Remove(at, 1); break;
                    case 1: text.Insert(at, noise[random.Next(noise.Length)]); break;
                    default: text[at] = noise[random.Next(noise.Length)]; break;
                }
            }

            var result = AppSpecParser.Parse(text.ToString(), AppSpecPolicy.Default);

            Assert.True(result.IsValid != result.Errors.Any(), text.ToString());
            Assert.All(result.Errors, static e => Assert.True(e.Line >= 1 && e.Column >= 1 && e.Problem.Length > 0 && e.Fix.Length > 0));
        }
    }

    [Fact]
    public void Files_above_the_size_cap_are_refused_before_parsing()
    {
        var big = WebMain("env:\n  PAD: " + new string('x', 300 * 1024));

        Assert.Equal(
            ["line 1: the file is 300.1 KiB, above the limit of 256 KiB; a spec describes one app; split it, or remove what is not spec (large env values belong in the image)"],
            Errors(big));
        Assert.True(AppSpecParser.Parse(big, AppSpecPolicy.Default with { MaxBytes = 1024 * 1024 }).IsValid);
    }

    [Fact]
    public void The_size_cap_counts_utf8_bytes()
    {
        var policy = AppSpecPolicy.Default with { MaxBytes = 2048 };
        var text = WebMain("env:\n  A: " + new string('é', 1000));

        Assert.True(text.Length < 2048 && Encoding.UTF8.GetByteCount(text) > 2048);
        Assert.Contains("above the limit of 2 KiB", Assert.Single(Errors(text, policy)));
    }

    [Fact]
    public void Flow_and_block_styles_read_the_same()
    {
        var block = Valid("app: a\nweb.main:\n  image: b\n  ports:\n    - 80\n  env:\n    A: x\n");
        var flow = Valid("{app: a, web.main: {image: b, ports: [80], env: {A: x}}}");

        Assert.Equal(block.ToCanonicalJson(), flow.ToCanonicalJson());
    }

    [Fact]
    public void Line_endings_and_a_byte_order_mark_do_not_matter()
    {
        var expected = Valid(SpecTestData.Shop);

        Assert.Equal(expected, Valid(SpecTestData.Shop.Replace("\n", "\r\n", StringComparison.Ordinal)));
        Assert.Equal(expected, Valid("\uFEFF" + SpecTestData.Shop));
        Assert.Equal(["line 4: web.main.replicas: 0 is out of range; give 1 to 64"], Errors("app: shop\r\nweb.main:\r\n  image: a\r\n  replicas: 0\r\n"));
    }

    [Fact]
    public void Columns_point_at_the_value()
    {
        var error = Assert.Single(AppSpecParser.Parse("app: shop\nweb.main: { image: b, replicas: 100 }", AppSpecPolicy.Default).Errors);

        Assert.Equal((2, 33), (error.Line, error.Column));
    }
}
