"""Safe defaults at the HTTP edge: security headers on every response, nothing cached that
carries tokens or personal data, HSTS over HTTPS, and operator pages (`/metrics`, `/docs`,
`/openapi.json`) public, token-protected or off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import register
from tests.support.server import JWT_SECRET, ServerProcess, run_parley, start_server

OPS_TOKEN = "ops-token-for-the-tests-0123456789abcdef"


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Trusts 127.0.0.1 as its proxy, so that X-Forwarded-Proto: https reads as HTTPS.
    server = start_server(tmp_path_factory.mktemp("plain"), {"FORWARDED_ALLOW_IPS": "127.0.0.1"})
    yield server
    server.stop()


def _client(server: ServerProcess, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=15, headers=headers)


def test_every_kind_of_response_has_the_security_headers(plain: ServerProcess) -> None:
    with _client(plain) as api:
        account = register(api)
        answers = {
            "json with tokens": api.post(
                "/api/v1/auth/login",
                json={"username": account.username, "password": account.password},
            ),
            "personal data": api.get("/api/v1/users/me", headers=account.headers),
            "error": api.get("/api/v1/conversations"),
            "no route": api.get("/nowhere"),
            "too large": api.post("/api/v1/auth/login", content=b"x" * 2_000_000),
            "socket.io polling": api.get(
                "/socket.io/", params={"EIO": "4", "transport": "polling"}
            ),
        }
    assert answers["json with tokens"].status_code == 200
    for what, answer in answers.items():
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", what
        assert headers["referrer-policy"] == "no-referrer", what
        assert headers["x-frame-options"] == "DENY", what
        assert headers["content-security-policy"].startswith("default-src 'none'"), what
        assert headers["cache-control"] == "no-store", what
        assert "strict-transport-security" not in headers, what  # plain HTTP


def test_the_docs_pages_get_a_policy_of_parleys_own_files_only(plain: ServerProcess) -> None:
    with _client(plain) as api:
        pages = [api.get(path) for path in ("/docs", "/redoc", "/asyncapi")]
    for page in pages:
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy  # files only: no inline script, no CDN
        assert "http" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "cdn." not in page.text  # what the page loads is what the policy allows


def test_hsts_only_when_the_request_came_over_https(plain: ServerProcess) -> None:
    with _client(plain, **{"X-Forwarded-Proto": "https"}) as api:
        answer = api.get("/health")
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_a_route_that_chooses_its_caching_keeps_it(plain: ServerProcess, tmp_path: Path) -> None:
    with _client(plain) as api:
        account = register(api)
        uploaded = api.post(
            "/api/v1/uploads",
            headers=account.headers,
            files={"file": ("note.txt", b"hello", "text/plain")},
        )
        assert uploaded.status_code == 201, uploaded.text
        download = api.get(uploaded.json()["url"], headers=account.headers)
    assert download.status_code == 200
    assert download.headers["cache-control"] == "private, max-age=86400"


def test_the_development_default_shows_the_operator_pages(plain: ServerProcess) -> None:
    with _client(plain) as api:
        for path in ("/metrics", "/docs", "/redoc", "/openapi.json", "/asyncapi.json"):
            assert api.get(path).status_code == 200, path


def test_production_hides_docs_and_metrics_without_an_ops_token(tmp_path: Path) -> None:
    server = start_server(tmp_path, {"APP_ENV": "production", "JWT_SECRET": JWT_SECRET})
    try:
        with _client(server) as api:
            for path in (
                "/metrics",
                "/docs",
                "/docs/static/swagger-ui-bundle.js",
                "/redoc",
                "/openapi.json",
                "/swagger/index.html",
                "/asyncapi",
                "/asyncapi.json",
            ):
                answer = api.get(path)
                assert answer.status_code == 404, path
                assert answer.json()["error"]["code"] == "not_found"
            assert api.get("/health").status_code == 200
    finally:
        server.stop()


def test_token_protected_operator_pages(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        {
            "APP_ENV": "production",
            "JWT_SECRET": JWT_SECRET,
            "OPS_TOKEN": OPS_TOKEN,
            "DOCS_ACCESS": "token",
        },
    )
    try:
        with _client(server) as api:
            for path in ("/metrics", "/openapi.json", "/asyncapi.json"):
                refused = api.get(path)
                assert refused.status_code == 401, path
                assert refused.headers["www-authenticate"] == "Bearer"
                assert refused.json()["error"]["code"] == "not_authenticated"
                wrong = api.get(path, headers={"Authorization": f"Bearer {OPS_TOKEN}x"})
                assert wrong.status_code == 401
                allowed = api.get(path, headers={"Authorization": f"Bearer {OPS_TOKEN}"})
                assert allowed.status_code == 200, path
    finally:
        server.stop()


def test_a_token_access_without_a_long_enough_token_refuses_to_start(tmp_path: Path) -> None:
    refused = run_parley(
        tmp_path, "serve", "--port", "1", env={"METRICS_ACCESS": "token", "OPS_TOKEN": "short"}
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("parley: DOCS_ACCESS or METRICS_ACCESS is `token`: set")
    assert "short" not in refused.stderr
