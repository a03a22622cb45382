"""ASGI middleware: every JSON request body meets the edge JSON policy (`parley.wirejson`)
before any route sees it.

FastAPI decodes bodies with the stdlib, which accepts lone surrogates, integers of any size
and `NaN`: left alone, such a body is stored and then breaks every reader. Here a refused
body gets 422 `validation_error` with `fields` (malformed JSON 400 `malformed_request`), and
the route never runs, so nothing is stored. Checked are bodies FastAPI would read as JSON (a
JSON content type, or none); Socket.IO's own transport checks its packets itself.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.api.middleware import send_error
from parley.errors import ParleyError, PayloadTooLarge
from parley.wirejson import JsonPolicy, JsonRefused

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return True  # FastAPI reads a body without a content type as JSON


class JsonBodyPolicyMiddleware:
    def __init__(self, app: ASGIApp, policy: JsonPolicy, *, skip_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.policy = policy
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or scope["path"].startswith(self.skip_prefixes)
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break  # the client left; the route will see that for itself
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except HTTPException as exc:  # the body size limit, crossed while streaming
            await _refuse(scope, send, PayloadTooLarge(str(exc.detail)))
            return
        body = b"".join(chunks)
        if body:
            try:
                self.policy.loads(body)
            except ParleyError as exc:
                await _refuse(scope, send, exc)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send, exc: ParleyError) -> None:
    error: dict[str, object] = {"code": exc.code, "message": exc.message}
    if isinstance(exc, JsonRefused):
        error["fields"] = exc.details["fields"]
    request_id = (scope.get("state") or {}).get("request_id")
    if request_id:
        error["request_id"] = request_id
    await send_error(send, exc.http_status, error)
