using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Nanobox.Node.Admin;

/// <summary>Newline-delimited JSON responses (log streams): one value a line, sent as it is written.</summary>
internal static class NdjsonLines
{
    public const string ContentType = "application/x-ndjson";

    /// <summary>
    /// One JSON value on one line (the writer is not indented, whatever the context says: the admin context
    /// indents, which would split a value over lines), written to the client asynchronously: serializing into a
    /// writer over the response body would flush it synchronously, which Kestrel refuses.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        var line = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(line))
        {
            write(json);
        }

        line.Write("\n"u8);
        await context.Response.Body.WriteAsync(line.WrittenMemory, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
