"""A push service the push tests run: the webhook endpoint, the OAuth2 token endpoint and
FCM's HTTP v1 `messages:send`, in one small ASGI app in a subprocess on a spare port.

It records every request, checks what it can (the FCM JWT assertion's RS256 signature against
the test's public key, the bearer token on sends) and answers as the test scripts it: a list
of answers per device token (or `webhook`), taken one per request, then 200. Tests wait on it
with `wait(kind, count)`, a long poll that returns once that many requests have arrived or the
deadline passed. Readiness is read from uvicorn's log, as for Parley's own server.

Run as `python -m tests.support.push_receiver PORT PUBLIC_KEY_PEM_FILE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import free_port
from tests.support.subprocess_server import logged_process

READY_MARKER = "Uvicorn running on"


def build_app(public_key_pem: str) -> Any:
    import jwt
    import orjson
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    records: list[dict[str, Any]] = []
    arrived = asyncio.Condition()
    script: dict[str, list[str]] = {}
    issued: set[str] = set()
    counter = itertools.count(1)

    async def record(kind: str, request: Request, **extra: Any) -> None:
        body = await request.body()
        async with arrived:
            records.append(
                {
                    "kind": kind,
                    "path": request.url.path,
                    "headers": dict(request.headers),
                    "body": body.decode(),
                    **extra,
                }
            )
            arrived.notify_all()

    def scripted(key: str) -> str | None:
        answers = script.get(key)
        return answers.pop(0) if answers else None

    def canned(answer: str | None, ok: Response) -> Response:
        if answer is None or answer == "ok":
            return ok
        if answer == "unregistered":
            error = {
                "code": 404,
                "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                        "errorCode": "UNREGISTERED",
                    }
                ],
            }
            return JSONResponse({"error": error}, status_code=404)
        if answer == "invalid":
            error = {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad token"}
            return JSONResponse({"error": error}, status_code=400)
        status, _, retry_after = answer.partition(":")
        headers = {"Retry-After": retry_after} if retry_after else None
        return JSONResponse({"error": {"code": int(status)}}, int(status), headers=headers)

    async def webhook(request: Request) -> Response:
        await record("webhook", request)
        answer = scripted("webhook")
        if answer is not None and answer.startswith("invalid:"):
            return JSONResponse({"invalid_tokens": answer.split(":", 1)[1].split(",")})
        return canned(answer, JSONResponse({}))

    async def token(request: Request) -> Response:
        await request.body()  # kept by the request: `record` reads it again after the form
        form = await request.form()
        assertion = str(form.get("assertion", ""))
        try:
            claims = jwt.decode(
                assertion,
                public_key_pem,
                algorithms=["RS256"],
                audience=str(request.url),
            )
            valid = form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        except jwt.PyJWTError as exc:
            claims, valid = {"error": str(exc)}, False
        await record("token", request, claims=claims, valid=valid)
        if not valid:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access = f"access-{next(counter)}"
        issued.add(access)
        return JSONResponse({"access_token": access, "expires_in": 3600, "token_type": "Bearer"})

    async def fcm_send(request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        message = orjson.loads(await request.body()).get("message", {})
        device = str(message.get("token", ""))
        await record("fcm", request, token=device, authorized=bearer in issued)
        if bearer not in issued:
            return JSONResponse({"error": {"code": 401}}, status_code=401)
        return canned(scripted(device), JSONResponse({"name": f"projects/p/messages/{device}"}))

    async def set_script(request: Request) -> Response:
        for key, answers in orjson.loads(await request.body()).items():
            script[key] = list(answers)
        return JSONResponse({})

    async def wait(request: Request) -> Response:
        kind = request.query_params.get("kind")
        contains = request.query_params.get("contains", "")
        count = int(request.query_params.get("count", "1"))
        timeout = float(request.query_params.get("timeout", "10"))

        def matching() -> list[dict[str, Any]]:
            return [
                r for r in records if (kind is None or r["kind"] == kind) and contains in r["body"]
            ]

        async with arrived:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait_for(lambda: len(matching()) >= count), timeout)
            return JSONResponse(matching())

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/v1/projects/{project}/messages:send", fcm_send, methods=["POST"]),
            Route("/_script", set_script, methods=["POST"]),
            Route("/_wait", wait, methods=["GET"]),
        ]
    )


@dataclass(frozen=True)
class PushReceiver:
    base_url: str

    def script(self, answers: dict[str, list[str]]) -> None:
        httpx.post(f"{self.base_url}/_script", json=answers, timeout=5).raise_for_status()

    def wait(
        self, kind: str, contains: str = "", count: int = 1, timeout_secs: float = 10
    ) -> list[dict[str, Any]]:
        """The requests of this kind whose body contains `contains`, once `count` of them
        have arrived (or the deadline passed: the caller checks how many it got)."""
        response = httpx.get(
            f"{self.base_url}/_wait",
            params={"kind": kind, "contains": contains, "count": count, "timeout": timeout_secs},
            timeout=timeout_secs + 5,
        )
        response.raise_for_status()
        return list(response.json())

    def seen(self, kind: str, contains: str = "") -> list[dict[str, Any]]:
        return self.wait(kind, contains, count=0, timeout_secs=0)


@contextmanager
def running_receiver(public_key_file: Path, timeout_secs: float = 30) -> Iterator[PushReceiver]:
    port = free_port()
    command = [sys.executable, "-m", "tests.support.push_receiver", str(port), str(public_key_file)]
    with logged_process(
        command,
        READY_MARKER,
        f"the push receiver on port {port}",
        cwd=Path(__file__).parents[2],
        timeout_secs=timeout_secs,
    ):
        yield PushReceiver(f"http://127.0.0.1:{port}")


def main() -> None:
    import uvicorn

    port, key_file = int(sys.argv[1]), Path(sys.argv[2])
    app = build_app(key_file.read_text())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", access_log=False)


if __name__ == "__main__":
    main()
