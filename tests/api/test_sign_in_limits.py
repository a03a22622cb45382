"""Password guessing against the sign-in limits, as an attacker would try it: many wrong
passwords for one account, one password over many accounts, floods of sign-ins at once,
registrations and refreshes in bulk; each from its own loopback address (all of 127/8 is
local), so that the owner's address and the attacker's differ as they would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import PASSWORD, Account, register, unique_username
from tests.support.deployment import two_instances
from tests.support.server import ServerProcess, start_server

# A real (if small) Argon2 cost, so that a hash takes long enough for sign-ins to overlap.
SLOW_HASHING = {"PASSWORD_HASH_TIME_COST": "2", "PASSWORD_HASH_MEMORY_KIB": "32768"}


def client_at(server: ServerProcess, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.base_url, timeout=30, transport=transport)


def async_client_at(server: ServerProcess, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.base_url, timeout=60, transport=transport)


def log_in(api: httpx.Client, login: str, password: str) -> httpx.Response:
    return api.post("/api/v1/auth/login", json={"username": login, "password": password})


def refused_with(answer: httpx.Response, code: str) -> int:
    """The answer is a 429 with `code`; its Retry-After, in seconds."""
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"]["code"] == code
    retry_after = int(answer.headers["retry-after"])
    assert retry_after >= 1
    assert answer.json()["error"]["details"]["retry_after"] == retry_after
    return retry_after


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("limited"),
        {
            "LOGIN_FAILURES_PER_ACCOUNT": "3",
            "LOGIN_ATTEMPTS_PER_CLIENT": "8",
            "REGISTRATIONS_PER_CLIENT": "3",
            "REFRESHES_PER_CLIENT": "3",
        },
    )
    yield server
    server.stop()


def test_wrong_passwords_stop_the_guessers_address_not_the_owner(limited: ServerProcess) -> None:
    with client_at(limited, "127.0.1.1") as owner_api:
        owner = register(owner_api)
    with client_at(limited, "127.0.1.2") as attacker:
        for _ in range(3):
            assert log_in(attacker, owner.username, "wrong guess").status_code == 401
        refused_with(log_in(attacker, owner.username, "wrong guess"), "too_many_failed_logins")
        # The right password does not get through from there either: guessing it is the point.
        refused_with(log_in(attacker, owner.username, PASSWORD), "too_many_failed_logins")
        # The limit follows the account whatever the case or spacing of the name.
        refused_with(
            log_in(attacker, f" {owner.username.upper()} ", PASSWORD), "too_many_failed_logins"
        )
    with client_at(limited, "127.0.1.1") as owner_api:
        assert log_in(owner_api, owner.username, PASSWORD).status_code == 200  # not locked out
    # When the window has passed the address may try again: tests/backends/test_rate_limit.py,
    # with the clock turned forward.


def test_one_address_spraying_many_accounts_is_slowed(limited: ServerProcess) -> None:
    with client_at(limited, "127.0.1.3") as sprayer:
        answers = [log_in(sprayer, unique_username("nobody"), "Winter2026!") for _ in range(9)]
    assert [a.status_code for a in answers[:8]] == [401] * 8
    refused_with(answers[8], "login_rate_limited")
    with client_at(limited, "127.0.1.4") as elsewhere:
        assert log_in(elsewhere, unique_username("nobody"), "x").status_code == 401


def test_registrations_per_address(limited: ServerProcess) -> None:
    with client_at(limited, "127.0.1.5") as api:
        for _ in range(3):
            register(api)
        name = unique_username("fourth")
        answer = api.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        )
        refused_with(answer, "registration_rate_limited")
    with client_at(limited, "127.0.1.6") as other:
        assert log_in(other, name, PASSWORD).status_code == 401  # nothing was stored
        register(other)


def test_refreshes_per_address(limited: ServerProcess) -> None:
    with client_at(limited, "127.0.1.7") as api:
        account = register(api)
        token = account.refresh_token
        for _ in range(3):
            answer = api.post("/api/v1/auth/refresh", json={"refresh_token": token})
            assert answer.status_code == 200, answer.text
            token = answer.json()["tokens"]["refresh_token"]
        answer = api.post("/api/v1/auth/refresh", json={"refresh_token": token})
        refused_with(answer, "refresh_rate_limited")
    with client_at(limited, "127.0.1.8") as elsewhere:
        # The refused refresh did not use the token up.
        assert elsewhere.post("/api/v1/auth/refresh", json={"refresh_token": token}).is_success


async def test_a_flood_of_guesses_from_one_address_does_not_starve_other_sign_ins(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, {**SLOW_HASHING, "SIGN_INS_IN_FLIGHT_PER_CLIENT": "2"})
    try:
        with client_at(server, "127.0.2.1") as api:
            owner = register(api)
        async with (
            async_client_at(server, "127.0.2.2") as attacker,
            async_client_at(server, "127.0.2.3") as legitimate,
        ):
            guess = {"username": owner.username, "password": "wrong"}
            flood = [attacker.post("/api/v1/auth/login", json=guess) for _ in range(60)]
            mine = legitimate.post(
                "/api/v1/auth/login", json={"username": owner.username, "password": PASSWORD}
            )
            answers = await asyncio.gather(mine, *flood)
        assert answers[0].status_code == 200, answers[0].text
        codes = [a.json()["error"]["code"] for a in answers[1:]]
        assert codes.count("too_many_attempts") >= 30, codes  # refused at once, not queued
        assert set(codes) <= {"invalid_credentials", "too_many_attempts"}
        with client_at(server, "127.0.2.1") as api:
            metrics = api.get("/metrics").text
        assert 'parley_sign_in_refused_total{code="too_many_attempts"}' in metrics
    finally:
        server.stop()


async def test_a_full_hashing_queue_answers_busy_at_once(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        {
            **SLOW_HASHING,
            "PASSWORD_HASH_WORKERS": "1",
            "PASSWORD_HASH_QUEUE": "1",
        },
    )
    try:
        clients = [async_client_at(server, f"127.0.3.{n}") for n in range(1, 13)]
        try:
            answers = await asyncio.gather(
                *(
                    c.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
                    for c in clients
                )
            )
        finally:
            for c in clients:
                await c.aclose()
        statuses = [a.status_code for a in answers]
        assert set(statuses) == {401, 503}, statuses
        busy = [a for a in answers if a.status_code == 503]
        for answer in busy:
            assert answer.json()["error"]["code"] == "sign_in_busy"
            assert answer.headers["retry-after"] == "1"
        with client_at(server, "127.0.3.99") as api:
            assert log_in(api, "nobody", "x").status_code == 401  # the queue drained
    finally:
        server.stop()


def test_the_limits_count_across_instances(tmp_path: Path) -> None:
    with two_instances(tmp_path, LOGIN_FAILURES_PER_ACCOUNT="2") as (a, b):
        with client_at(a, "127.0.4.1") as api:
            owner: Account = register(api)
        with client_at(a, "127.0.4.2") as on_a, client_at(b, "127.0.4.2") as on_b:
            assert log_in(on_a, owner.username, "wrong").status_code == 401
            assert log_in(on_b, owner.username, "wrong").status_code == 401
            refused_with(log_in(on_a, owner.username, PASSWORD), "too_many_failed_logins")
            refused_with(log_in(on_b, owner.username, PASSWORD), "too_many_failed_logins")
        with client_at(b, "127.0.4.1") as owner_api:
            assert log_in(owner_api, owner.username, PASSWORD).status_code == 200
