using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nanobox.Node.Admin;
using Nanobox.Node.Runtime.Apps;

namespace Nanobox.Node.Tests.Unit;

/// <summary>Log streams are read a line at a time, so each value must stay on one line although the admin context indents.</summary>
public sealed class NdjsonLinesTests
{
    [Fact]
    public async Task Each_value_is_one_line_that_reads_back()
    {
        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        AppLogLine[] lines =
        [
            new("shop/web.main#0", "stdout", DateTimeOffset.UnixEpoch, "hello\nworld"),
            new("shop/web.main#1", null, null, null, "h2 unreachable"),
        ];

        foreach (var line in lines)
        {
            await NdjsonLines.WriteAsync(context, writer => JsonSerializer.Serialize(writer, line, AdminJsonContext.Default.AppLogLine));
        }

        var written = Encoding.UTF8.GetString(body.ToArray()).Split('\n');
        Assert.Equal(3, written.Length);
        Assert.Equal("", written[2]);
        Assert.Equal(lines, written[..2].Select(l => JsonSerializer.Deserialize(l, AdminJsonContext.Default.AppLogLine)));
    }
}
