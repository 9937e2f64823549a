using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ModelPlatform;

/// <summary>Problem details (RFC 9457) the services answer alike.</summary>
public static class ProblemResults
{
    /// <summary>A 404 whose detail names what does not exist.</summary>
    public static NotFound<ProblemDetails> NotFound(string detail) => TypedResults.NotFound(new ProblemDetails
    {
        Title = "Not found",
        Status = StatusCodes.Status404NotFound,
        Detail = detail,
    });
}
