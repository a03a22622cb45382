"""Health, version, metrics, request ids and the error shape for bad input."""

from __future__ import annotations

import httpx

from tests.support.accounts import register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess


def test_health_reports_each_component(api: httpx.Client) -> None:
    for path in ("/health", "/api/v1/health"):
        response = api.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["services"] == {"database": "ok", "broker": "ok"}
        assert body["timestamp"].endswith("Z")


def test_version(api: httpx.Client) -> None:
    body = api.get("/api/version").json()
    assert body["name"] == "Parley"
    assert body["version"].count(".") == 2
    assert "timestamp" in body


def test_metrics_count_requests_by_route(api: httpx.Client) -> None:
    alice = register(api)
    api.get(f"/api/v1/users/{alice.id}", headers=alice.headers)
    text = api.get("/metrics").text
    assert (
        'parley_http_requests_total{method="POST",route="/api/v1/auth/register",status="201"}'
        in text
    )
    assert 'route="/api/v1/users/{user_id}"' in text
    assert "parley_http_request_duration_seconds_bucket" in text


def test_every_response_carries_a_request_id(api: httpx.Client) -> None:
    generated = api.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = api.get("/health", headers={"X-Request-ID": "trace-abc.123"})
    assert echoed.headers["x-request-id"] == "trace-abc.123"
    error = api.get("/api/v1/auth/me", headers={"X-Request-ID": "trace-err"})
    assert error.json()["error"]["request_id"] == "trace-err"


def test_unknown_routes_and_methods_use_the_error_shape(api: httpx.Client) -> None:
    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = api.delete("/api/version")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_a_400_not_a_crash(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/auth/login", content=b'{"username": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    wrong_types = api.post("/api/v1/auth/login", json={"username": ["a"], "password": 5})
    assert wrong_types.status_code == 422
    assert {f["field"] for f in wrong_types.json()["error"]["fields"]} == {"login", "password"}
    not_an_object = api.post("/api/v1/auth/login", json=[1, 2])
    assert not_an_object.status_code == 422


def test_oversize_bodies_are_refused(api: httpx.Client) -> None:
    big = b'{"username": "' + b"a" * 2_000_000 + b'"}'
    declared = api.post(
        "/api/v1/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(40):
            yield b"a" * 65536

    streamed = api.post(
        "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"


def test_openapi_documents_the_api(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    assert "/api/v1/auth/login" in spec["paths"]
    assert api.get("/docs").status_code == 200
    seed_docs = api.get("/swagger/index.html")  # the Realtime Chat App seed's docs path
    assert (seed_docs.status_code, seed_docs.headers["location"]) == (307, "/docs")


async def test_metrics_show_live_connections(api: httpx.Client, server: ServerProcess) -> None:
    alice = register(api)
    client = await WsClient.open(server.base_url, alice.access_token)
    try:
        lines = api.get("/metrics").text.splitlines()
        live = next(ln for ln in lines if ln.startswith("parley_chat_connections "))
        assert float(live.split()[1]) >= 1
    finally:
        await client.close()
