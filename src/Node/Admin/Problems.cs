using Microsoft.AspNetCore.Http;

namespace Nanobox.Node.Admin;

/// <summary>Builds the admin API's error responses; every one says what to do about it.</summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";

    public static IResult Result(int status, string title, string detail, IReadOnlyList<string>? errors = null) => Results.Json(
        new ProblemResponse($"https://nanobox.dev/problems/{status}", title, status, detail, errors),
        AdminJsonContext.Default.ProblemResponse,
        ContentType,
        status);

    public static Task WriteAsync(HttpContext context, int status, string title, string detail) =>
        Result(status, title, detail).ExecuteAsync(context);
}
