using Nanobox.Node.Runtime.Distribution;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Tests.Distribution;

public sealed class LogBatchTests
{
    private static ContainerLogLine Line(string text) => new(ContainerLogStream.StandardOutput, DateTimeOffset.UnixEpoch, text);

    [Fact]
    public void A_long_line_travels_in_pieces_that_join_back_to_it()
    {
        var text = string.Concat(Enumerable.Range(0, 5000).Select(i => $"{i:D5}-")); // 30000 chars
        var batch = new LogBatch();

        batch.Add(Line(text));
        var frame = batch.Take();

        Assert.Equal(2, frame.Lines.Length);
        Assert.All(frame.Lines, l => Assert.True(l.Text.Length <= DataPathLimits.MaxLogLineChars));
        Assert.Equal(text, string.Concat(frame.Lines.Select(l => l.Text)));
        Assert.All(frame.Lines, l => Assert.Equal(DateTimeOffset.UnixEpoch, l.Time));
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public void A_surrogate_pair_is_never_cut()
    {
        var text = new string('a', DataPathLimits.MaxLogLineChars - 1) + "\U0001F600" + "tail";
        var batch = new LogBatch();

        batch.Add(Line(text));
        var pieces = batch.Take().Lines;

        Assert.Equal(DataPathLimits.MaxLogLineChars - 1, pieces[0].Text.Length);
        Assert.StartsWith("\U0001F600", pieces[1].Text);
        Assert.Equal(text, pieces[0].Text + pieces[1].Text);
    }

    [Fact]
    public void A_batch_is_full_at_its_line_or_character_limit()
    {
        var byLines = new LogBatch();
        for (var i = 0; i < DataPathLimits.MaxLogBatchLines - 1; i++)
        {
            byLines.Add(Line("x"));
        }

        Assert.False(byLines.IsFull);
        byLines.Add(Line("x"));
        Assert.True(byLines.IsFull);

        var byChars = new LogBatch();
        for (var i = 0; i < DataPathLimits.MaxLogBatchChars / DataPathLimits.MaxLogLineChars; i++)
        {
            Assert.False(byChars.IsFull);
            byChars.Add(Line(new string('y', DataPathLimits.MaxLogLineChars)));
        }

        Assert.True(byChars.IsFull);
    }

    [Fact]
    public void A_frame_of_the_largest_batch_stays_far_below_the_control_frame_limit()
    {
        // Worst case for JSON: every character escaped as \uXXXX.
        var batch = new LogBatch();
        while (!batch.IsFull)
        {
            batch.Add(Line(new string('\u0001', 1000)));
        }

        var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(batch.Take(), DistributionJsonContext.Default.LogFrame);

        Assert.InRange(bytes.Length, 1, 1 << 20);
    }
}
