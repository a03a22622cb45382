"""Property-based REST fuzzing over the OpenAPI schema, with real tokens.

Every operation of the app's schema gets a bounded number of requests (fixed seed): path ids
that exist and ids that don't, query values and bodies drawn from the schema with hostile
values mixed in at every level (lone surrogates, NUL, nesting past 32, ints past 64 bits,
wrong types, oversize strings) and some bodies that are not JSON at all, sent as nobody, a
customer, an admin, a forged token or the API key. Whatever comes in, the answer is not a 5xx
and the server's log shows no crash.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from parley.app import create_app
from parley.config import Settings
from tests.conftest import migrate
from tests.fuzz.conftest import FUZZ_ENV, World, build_world
from tests.support.accounts import create_admin, login, register
from tests.support.fuzzing import (
    RAW_GARBAGE,
    SchemaStrategies,
    assert_log_clean,
    encode,
    poison,
)
from tests.support.server import API_KEY, ServerProcess, start_server
from tests.support.services import create_postgres_database

EXAMPLES_PER_OPERATION = 80
SAFE_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)


def _destructive(method: str, path: str) -> int:
    """Requests that sign out, demote or delete run last, so they take nothing from the rest."""
    if method == "DELETE" or "logout" in path:
        return 2
    if method in ("PUT", "PATCH") and path not in (
        "/api/v1/users/me",
        "/api/v1/messages/{message_id}",
    ):
        return 1
    return 0


_spec_in_process = create_app(Settings(_env_file=None, jwt_secret="x" * 40)).openapi()  # type: ignore[call-arg]
CALLERS = ["customer"] * 3 + ["admin"] * 3 + ["anonymous", "forged", "api_key"]
OPERATIONS = sorted(
    (
        (method.upper(), path)
        for path, operations in _spec_in_process["paths"].items()
        for method in operations
    ),
    key=lambda op: _destructive(*op),
)


@pytest.fixture(scope="module")
def spec(fuzz_api: httpx.Client) -> dict[str, Any]:
    response = fuzz_api.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_the_live_schema_has_the_operations_fuzzed(spec: dict[str, Any]) -> None:
    live = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert live == set(OPERATIONS)


@dataclass
class Callers:
    """The world's accounts (members of every conversation in it), renewed when a fuzzed
    request signed one out or disabled it."""

    api: httpx.Client
    server: ServerProcess
    world: World

    def headers(self, who: str) -> dict[str, str]:
        if who == "customer":
            return self.world.customer.headers
        if who == "admin":
            return self.world.admin.headers
        if who == "forged":
            return {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"}
        if who == "api_key":
            return {"X-API-Key": API_KEY}
        return {}

    def renew(self) -> None:
        world = self.world
        if self.api.get("/api/v1/auth/me", headers=world.customer.headers).status_code != 200:
            try:
                world.customer = login(self.api, world.customer.username)
            except AssertionError:
                world.customer = register(self.api)
        if self.api.get("/api/v1/auth/me", headers=world.admin.headers).status_code != 200:
            try:
                world.admin = login(self.api, world.admin.username)
            except AssertionError:
                world.admin = create_admin(self.api, self.server)

    def ids_for(self, parameter: str) -> list[str]:
        world = self.world
        if parameter in ("conversation_id", "chat_id"):
            return [world.direct_id, world.group_id, world.room_id, world.support_id]
        if parameter == "user_id":
            return [world.customer.id, world.other.id, world.admin.id]
        if parameter == "message_id":
            return [world.message_id]
        if parameter == "ref":
            return [world.room_id, world.room_name, world.group_id]
        return world.ids


def signed_out(response: httpx.Response) -> bool:
    """The caller's account may have been signed out or disabled by an earlier request."""
    if response.status_code == 401:
        return True
    return response.status_code == 403 and b"account_disabled" in response.content


@pytest.fixture(scope="module")
def callers(fuzz_api: httpx.Client, fuzz_server: ServerProcess, world: World) -> Callers:
    return Callers(fuzz_api, fuzz_server, world)


def _query_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return encode(value).decode()
    return str(value)


def _quote(text: str) -> str:
    # surrogatepass: a lone surrogate goes out as the (invalid) UTF-8 bytes a client could send.
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def request_strategy(
    draw: st.DrawFn, strategies: SchemaStrategies, operation: dict[str, Any], callers: Callers
) -> dict[str, Any]:
    """A request that keeps to the schema (at its edges), or one with exactly one thing wrong:
    a hostile query value, a hostile body field, an extra hostile field, or a body that is
    not JSON. One fault at a time, so a validation error elsewhere cannot hide a crash."""
    params = operation.get("parameters", [])
    path = {
        p["name"]: draw(
            st.one_of(st.sampled_from(callers.ids_for(p["name"])), st.uuids().map(str), SAFE_TEXT)
        )
        for p in params
        if p["in"] == "path"
    }
    query_schemas = {p["name"]: p.get("schema", {}) for p in params if p["in"] == "query"}
    query = draw(
        st.fixed_dictionaries(
            {}, optional={n: strategies.valid(s) for n, s in query_schemas.items()}
        )
    )
    content = operation.get("requestBody", {}).get("content", {})
    body_schema = content.get("application/json", {}).get("schema")
    body = draw(strategies.valid(body_schema)) if body_schema is not None else None
    faults = ["none", "none"]
    if query_schemas:
        faults.append("query")
    if isinstance(body, dict):
        faults += ["field", "extra"]
    if body_schema is not None:
        faults.append("raw")
    fault = draw(st.sampled_from(faults))
    raw: bytes | None = None
    if fault == "query":
        query[draw(st.sampled_from(sorted(query_schemas)))] = draw(strategies.hostile())
    elif fault == "field" and isinstance(body, dict):
        fields = sorted(strategies.resolve(body_schema).get("properties", {})) or ["x"]
        body[draw(st.sampled_from(fields))] = draw(strategies.hostile())
    elif fault == "extra" and isinstance(body, dict):
        body[draw(st.sampled_from(["extra", "zz", "\ud800", "a\x00"]))] = draw(poison)
    elif fault == "raw":
        raw = draw(st.sampled_from(RAW_GARBAGE))
    if raw is None and body_schema is not None:
        raw = encode(body)
    return {
        "who": draw(st.sampled_from(CALLERS)),
        "path": path,
        "query": query,
        "fault": fault,
        "body": raw,
    }


def send(callers: Callers, method: str, path: str, drawn: dict[str, Any]) -> httpx.Response:
    url = path
    for name, value in drawn["path"].items():
        url = url.replace("{" + name + "}", _quote(str(value)) or "x")
    pairs = [(k, _query_value(v)) for k, v in drawn["query"].items()]
    query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs if v is not None)
    if query:
        url += "?" + query
    # A connection of its own: a request that breaks one is the one blamed.
    headers = {**callers.headers(drawn["who"]), "Connection": "close"}
    if drawn["body"] is not None:
        headers = {**headers, "Content-Type": "application/json"}
    return callers.api.request(method, url, headers=headers, content=drawn["body"])


DELIBERATE_5XX = {501: {"presign_not_supported"}}
"""Answers of 500 and up that are no failure: what this deployment cannot do, by design (a
local file store has no presigned uploads)."""


def deliberate(response: httpx.Response) -> bool:
    codes = DELIBERATE_5XX.get(response.status_code, set())
    try:
        return bool(codes) and response.json()["error"]["code"] in codes
    except (ValueError, KeyError, TypeError):
        return False


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error(
    method: str,
    path: str,
    spec: dict[str, Any],
    world: World,
    callers: Callers,
    fuzz_server: ServerProcess,
) -> None:
    operation = spec["paths"][path][method.lower()]
    strategies = SchemaStrategies(spec, world.ids)
    log_start = len(fuzz_server.log_lines)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time; the message says all
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn=request_strategy(strategies, operation, callers))
    def one_request(drawn: dict[str, Any]) -> None:
        try:
            response = send(callers, method, path, drawn)
        except httpx.TransportError as exc:
            raise AssertionError(
                f"{method} {path} as {drawn['who']} with {drawn!r:.600}: connection failed: {exc!r}"
            ) from exc
        assert response.status_code < 500 or deliberate(response), (
            f"{method} {response.request.url} as {drawn['who']} with body "
            f"{(drawn['body'] or b'')[:300]!r} -> {response.status_code} {response.text[:300]}"
        )
        if signed_out(response) and drawn["who"] in ("customer", "admin"):
            callers.renew()

    try:
        one_request()
    finally:
        barrier = f"fuzz-{uuid.uuid4().hex}"
        callers.api.get("/health", headers={"X-Request-ID": barrier})
        fuzz_server.wait_for_log(barrier, after=log_start)
    assert_log_clean(fuzz_server, log_start)


EDGE_INTEGERS = [2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1, -1]
EDGE_STRINGS = ["", "zzzz", "\x00", "\ud800", "-1", "9" * 40, "=" * 64, "x" * 5000]


def _path_with_ids(callers: Callers, path: str, operation: dict[str, Any]) -> str:
    for p in operation.get("parameters", []):
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", callers.ids_for(p["name"])[0])
    return path


def _fixed_requests(
    spec: dict[str, Any], callers: Callers
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every operation's query parameters at the edges of 64 bits (and odd strings), and every
    JSON body as each piece of garbage, as a member of the conversations named."""
    for method, path in OPERATIONS:
        operation = spec["paths"][path][method.lower()]
        url = _path_with_ids(callers, path, operation)
        for p in operation.get("parameters", []):
            if p["in"] != "query":
                continue
            values: list[Any] = [*EDGE_INTEGERS, *EDGE_STRINGS]
            for value in values:
                drawn = {"who": "customer", "path": {}, "query": {p["name"]: value}, "body": None}
                yield method, url, drawn
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            for raw in RAW_GARBAGE:
                yield method, url, {"who": "customer", "path": {}, "query": {}, "body": raw}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def edge_target(
    request: pytest.FixtureRequest,
    callers: Callers,
    fuzz_server: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Callers, ServerProcess]]:
    """The fuzz server (SQLite), and one on PostgreSQL: a 64-bit edge that SQLite takes may
    overflow a PostgreSQL column, and the other way round."""
    if request.param == "sqlite":
        # A world of its own: the random run above has deleted and demoted things in its.
        yield Callers(callers.api, fuzz_server, build_world(callers.api, fuzz_server)), fuzz_server
        return
    database = create_postgres_database()
    root = Path(tmp_path_factory.mktemp("fuzz-pg"))
    try:
        migrate(root, database.url)
        server = start_server(root, {"DATABASE_URL": database.url, **FUZZ_ENV})
        try:
            with httpx.Client(base_url=server.base_url, timeout=15) as api:
                yield Callers(api, server, build_world(api, server)), server
        finally:
            server.stop()
    finally:
        database.drop()


def test_edge_values_and_garbage_bodies(
    spec: dict[str, Any], edge_target: tuple[Callers, ServerProcess]
) -> None:
    """Deterministic companions of the random run: each edge on its own, so nothing else in
    the request is invalid. Every failure is listed, not just the first."""
    callers, fuzz_server = edge_target
    log_start = len(fuzz_server.log_lines)
    failures = []
    sent = 0
    for method, url, drawn in _fixed_requests(spec, callers):
        if _destructive(method, url) == 2:
            continue
        sent += 1
        try:
            response = send(callers, method, url, drawn)
        except httpx.TransportError as exc:
            failures.append(f"{method} {url} {drawn['query'] or drawn['body']!r:.120}: {exc!r}")
            continue
        if response.status_code >= 500:
            failures.append(
                f"{method} {response.request.url!s:.200} body={drawn['body']!r:.80}"
                f" -> {response.status_code}"
            )
        if signed_out(response):
            callers.renew()
    barrier = f"fuzz-{uuid.uuid4().hex}"
    callers.api.get("/health", headers={"X-Request-ID": barrier})
    fuzz_server.wait_for_log(barrier, after=log_start)
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures)
    assert_log_clean(fuzz_server, log_start)
