"""Answers to `Range: bytes=…` requests (RFC 9110 §14): one range as 206, an unsatisfiable
one as 416, anything else (no range, several, a malformed header) as the whole file."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

Reader = Callable[[int, int | None], AsyncIterator[bytes]]


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) byte to send; None for the whole file; "unsatisfiable"."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None  # not a single byte range we understand: ignored, as RFC 9110 allows
    if not match[1]:  # the last N bytes
        suffix = int(match[2])
        if suffix == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    first = int(match[1])
    last = int(match[2]) if match[2] else size - 1
    if first >= size or last < first:
        return "unsatisfiable"
    return first, min(last, size - 1)


async def ranged_response(
    request: Request,
    *,
    size: int,
    content_type: str,
    read: Reader,
    headers: dict[str, str],
) -> Response:
    wanted = parse_range(request.headers.get("range"), size)
    common = {"Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff", **headers}
    if wanted == "unsatisfiable":
        return JSONResponse(
            {
                "error": {
                    "code": "range_not_satisfiable",
                    "message": f"The file has {size} bytes.",
                    "details": {"size": size},
                }
            },
            status_code=416,
            headers={**common, "Content-Range": f"bytes */{size}"},
        )
    first, last = (0, size - 1) if wanted is None or isinstance(wanted, str) else wanted
    chunks = read(first, last)
    # The first chunk before the headers: a file missing from the store is an error
    # answer, not a 200 that breaks off.
    opening = await anext(chunks, b"")

    async def body() -> AsyncIterator[bytes]:
        if opening:
            yield opening
        async for chunk in chunks:
            yield chunk

    out = {**common, "Content-Length": str(last - first + 1)}
    if wanted is None:
        return StreamingResponse(body(), status_code=200, media_type=content_type, headers=out)
    out["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(body(), status_code=206, media_type=content_type, headers=out)
