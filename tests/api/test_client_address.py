"""Whose address a request comes from: the TCP peer's, unless that peer is a proxy named in
FORWARDED_ALLOW_IPS. Per-address limits and device sessions depend on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.config import Settings
from parley.errors import ConfigurationError
from tests.support.accounts import register
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient

PER_CLIENT = "3"


def phone() -> str:
    return f"+1650253{uuid.uuid4().int % 10_000:04d}"


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}


@pytest.fixture
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """No proxy trusted (the default). One per test: every request uses up its one bucket."""
    server = start_server(
        Path(tmp_path_factory.mktemp("direct")), {"OTP_REQUESTS_PER_CLIENT": PER_CLIENT}
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The test client stands in for a proxy on 127.0.0.1, trusted as part of a network
    written with host bits set (127.0.0.9/8 means 127.0.0.0/8, as an operator would expect)."""
    server = start_server(
        Path(tmp_path_factory.mktemp("proxied")),
        {"OTP_REQUESTS_PER_CLIENT": PER_CLIENT, "FORWARDED_ALLOW_IPS": "127.0.0.9/8,10.0.0.0/8"},
    )
    yield server
    server.stop()


def request_code(api: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return api.post("/auth/login", json={"mobile_no": phone()}, headers=headers)


def session_address(api: httpx.Client, token: str) -> Any:
    sessions = api.get("/api/v1/auth/sessions", headers={"Authorization": f"Bearer {token}"})
    assert sessions.status_code == 200, sessions.text
    (current,) = [s for s in sessions.json() if s["current"]]
    return current["ip_address"]


def test_a_rotating_forwarded_for_from_an_untrusted_peer_gets_no_fresh_limits(
    direct: ServerProcess,
) -> None:
    with httpx.Client(base_url=direct.base_url, timeout=15) as api:
        answers = [request_code(api, forwarded(f"203.0.113.{i}")).status_code for i in range(30)]
        assert answers[:3] == [200, 200, 200]
        assert set(answers[3:]) == {429}
        alice = register(api, device_id="d1")
        spoofed = api.post(
            "/api/v1/auth/login",
            json={"username": alice.username, "password": alice.password},
            headers=forwarded("198.51.100.23"),
        )
        assert session_address(api, spoofed.json()["tokens"]["access_token"]) == "127.0.0.1"


def test_behind_a_trusted_proxy_each_forwarded_client_is_itself(proxied: ServerProcess) -> None:
    with httpx.Client(base_url=proxied.base_url, timeout=15) as api:
        answers = [request_code(api, forwarded(f"203.0.113.{i}")).status_code for i in range(30)]
        assert set(answers) == {200}
        same = [request_code(api, forwarded("203.0.113.200")).status_code for _ in range(4)]
        assert same == [200, 200, 200, 429]
        # A chain: the client forged the first hop; the proxy appended the address it saw.
        alice = register(api)
        login = api.post(
            "/api/v1/auth/login",
            json={"username": alice.username, "password": alice.password},
            headers=forwarded("1.2.3.4, 198.51.100.23, 10.1.2.3"),
        )
        assert session_address(api, login.json()["tokens"]["access_token"]) == "198.51.100.23"


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socket_connections_use_the_same_client_address(
    direct: ServerProcess, proxied: ServerProcess, transport: str
) -> None:
    headers = forwarded("198.51.100.77")
    for server, expected in ((proxied, "198.51.100.77"), (direct, "127.0.0.1")):
        client = SioClient()
        await client.client.connect(
            server.base_url, headers=headers, transports=[transport], wait_timeout=5
        )
        try:
            mobile = phone()
            await client.client.emit("login", {"mobile_no": mobile, "device_id": "phone-1"})
            sent = await client.expect("login")
            await client.client.emit(
                "verify_otp",
                {"mobile_no": mobile, "otp": sent["otp"], "session_token": sent["session_token"]},
            )
            token = (await client.expect("verify_otp"))["token"]
        finally:
            await client.client.disconnect()
        with httpx.Client(base_url=server.base_url, timeout=15) as api:
            assert session_address(api, token) == expected, server.base_url


@pytest.mark.parametrize("value", ["proxy.example", "10.0.0.0/33", "127.0.0.1,,nope"])
def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError, match="FORWARDED_ALLOW_IPS"):
        Settings(_env_file=None, data_dir=tmp_path, forwarded_allow_ips=value)  # type: ignore[call-arg]


def test_trusted_proxies_accept_addresses_networks_and_any(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,  # type: ignore[call-arg]
        forwarded_allow_ips=" 127.0.0.1, 10.0.0.0/8 ,::1",
    )
    assert settings.forwarded_allow_ips == ["127.0.0.1", "10.0.0.0/8", "::1"]
    anyone = Settings(_env_file=None, data_dir=tmp_path, forwarded_allow_ips="*")  # type: ignore[call-arg]
    assert anyone.forwarded_allow_ips == ["*"]
