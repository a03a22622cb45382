"""The API documents tell the truth and work offline: Swagger UI and ReDoc from Parley's own
files, a valid OpenAPI 3.1 document with the Bearer scheme and the real error answers, 405s
that say what is allowed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from openapi_spec_validator import validate

from tests.support.accounts import register
from tests.support.server import ServerProcess, start_server

PAGES = ("/docs", "/redoc", "/asyncapi")


@pytest.fixture(scope="module")
def docs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server: ServerProcess = start_server(tmp_path_factory.mktemp("docs"), {})
    try:
        with httpx.Client(base_url=server.base_url, timeout=15) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def spec(docs_api: httpx.Client) -> dict[str, Any]:
    answer = docs_api.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href", "spec-url", "data-openapi-url"):
                self.urls.append(value)


def test_the_pages_and_everything_they_load_come_from_parley(docs_api: httpx.Client) -> None:
    loaded: set[str] = set()
    for page in PAGES:
        answer = docs_api.get(page)
        assert answer.status_code == 200, page
        assert answer.headers["content-type"].startswith("text/html"), page
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", answer.text), page
        policy = answer.headers["content-security-policy"]
        assert "http" not in policy, policy  # self only: no CDN is allowed to load
        assert "script-src 'self';" in policy  # and no inline script
        parser = _Assets()
        parser.feed(answer.text)
        for url in parser.urls:
            if url.startswith("#"):
                continue
            absolute = urljoin(str(docs_api.base_url) + page, url)
            assert absolute.startswith(str(docs_api.base_url)), (page, url)
            asset = docs_api.get(absolute)
            assert asset.status_code == 200, (page, url)
            assert asset.content, (page, url)
            loaded.add(httpx.URL(absolute).path)
    assert {
        "/docs/static/swagger-ui-bundle.js",
        "/docs/static/swagger-ui.css",
        "/docs/static/swagger-init.js",
        "/docs/static/redoc.standalone.js",
        "/openapi.json",
        "/asyncapi.json",
    } <= loaded
    assert docs_api.get("/docs/static/../pyproject.toml").status_code == 404
    assert docs_api.get("/docs/static/core.py").status_code == 404


def test_the_seed_docs_path_still_redirects(docs_api: httpx.Client) -> None:
    for path in ("/swagger/index.html", "/swagger"):
        answer = docs_api.get(path)
        assert (answer.status_code, answer.headers["location"]) == (307, "/docs")


def test_openapi_is_valid_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_signed_in_routes_use_the_bearer_scheme(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /api/v1/auth/login` (or `/refresh`).",
    }
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"bearer": []}]
    assert "401" in me["responses"]
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert "security" not in login
    assert "401" in login["responses"]  # wrong password: declared by the route
    assert "429" in login["responses"]  # the sign-in limits key on the client's address
    assert "security" not in spec["paths"]["/health"]["get"]


def test_every_error_answer_is_the_error_envelope(spec: dict[str, Any]) -> None:
    text = str(spec)
    assert "HTTPValidationError" not in text
    assert "'detail'" not in text
    errors = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) < 400:
                    continue
                errors += 1
                content = answer["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (path, method)
                assert content["example"]["error"]["code"], (path, method, status)
    assert errors > 300
    body = spec["paths"]["/api/v1/rooms"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "422", "429", "503"} <= set(body)
    by_id = spec["paths"]["/api/v1/users/{user_id}"]["get"]["responses"]
    assert {"401", "404", "422"} <= set(by_id)
    assert spec["paths"]["/api/v1/auth/register"]["post"]["responses"]["409"]


def _documented(spec: dict[str, Any], method: str, path: str, status: int) -> bool:
    return str(status) in spec["paths"][path][method.lower()]["responses"]


def test_real_answers_are_among_the_documented_ones(
    docs_api: httpx.Client, spec: dict[str, Any]
) -> None:
    alice = register(docs_api)
    answers = [
        ("GET", "/api/v1/auth/me", docs_api.get("/api/v1/auth/me")),
        ("GET", "/api/v1/auth/me", docs_api.get("/api/v1/auth/me", headers=alice.headers)),
        ("POST", "/api/v1/auth/login", docs_api.post("/api/v1/auth/login", json={"x": 1})),
        (
            "POST",
            "/api/v1/auth/login",
            docs_api.post(
                "/api/v1/auth/login", json={"username": alice.username, "password": "no"}
            ),
        ),
        (
            "POST",
            "/api/v1/auth/register",
            docs_api.post(
                "/api/v1/auth/register",
                json={"username": alice.username, "email": "x@test.com", "password": "12345678"},
            ),
        ),
        (
            "POST",
            "/api/v1/auth/login",
            docs_api.post(
                "/api/v1/auth/login",
                content=b'{"username": ',
                headers={"Content-Type": "application/json"},
            ),
        ),
        (
            "GET",
            "/api/v1/users/{user_id}",
            docs_api.get(f"/api/v1/users/{uuid.uuid4()}", headers=alice.headers),
        ),
        (
            "GET",
            "/api/v1/users/{user_id}",
            docs_api.get("/api/v1/users/not-a-uuid", headers=alice.headers),
        ),
        (
            "PUT",
            "/api/v1/users/{user_id}/role",
            docs_api.put(
                f"/api/v1/users/{alice.id}/role", json={"role": "admin"}, headers=alice.headers
            ),
        ),
        (
            "POST",
            "/api/v1/rooms",
            docs_api.post("/api/v1/rooms", content=b"x" * 2_000_000, headers=alice.headers),
        ),
    ]
    statuses = set()
    for method, path, answer in answers:
        statuses.add(answer.status_code)
        assert _documented(spec, method, path, answer.status_code), (method, path, answer.text)
        if answer.status_code >= 400:
            assert set(answer.json()) == {"error"}
    assert statuses >= {200, 400, 401, 403, 404, 409, 413, 422}


def test_a_405_says_what_is_allowed(docs_api: httpx.Client) -> None:
    answer = docs_api.delete("/api/version")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert answer.headers["allow"] == "GET, HEAD"
    # GET and POST are two routes of one path: the answer names both.
    both = docs_api.delete("/api/v1/rooms")
    assert both.status_code == 405
    assert {m.strip() for m in both.headers["allow"].split(",")} >= {"GET", "POST"}
