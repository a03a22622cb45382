"""Tokens that must not work: forged, expired, `alg: none`, HS/RS confusion, wrong type."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.accounts import Account, register
from tests.support.server import JWT_SECRET, ServerProcess, start_server


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def hand_signed(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """An HMAC-SHA256 JWT built by hand, so any key (even a PEM public key) can sign it."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def me_status(api: httpx.Client, token: str) -> tuple[int, str]:
    response = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()["error"]["code"] if response.is_error else ""


@pytest.fixture
def alice(api: httpx.Client) -> Account:
    return register(api)


def test_a_token_signed_with_another_secret_is_refused(api: httpx.Client, alice: Account) -> None:
    forged = jwt.encode(
        claims_of(alice.access_token), "not-the-server-secret" * 3, algorithm="HS256"
    )
    assert me_status(api, forged) == (401, "invalid_token")


def test_an_expired_token_is_refused(api: httpx.Client, alice: Account) -> None:
    claims = claims_of(alice.access_token) | {"exp": int(time.time()) - 5}
    expired = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert me_status(api, expired) == (401, "token_expired")


def test_alg_none_is_refused(api: httpx.Client, alice: Account) -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims_of(alice.access_token)).encode())
    assert me_status(api, f"{header}.{payload}.") == (401, "invalid_token")


def test_a_refresh_token_is_not_an_access_token(api: httpx.Client, alice: Account) -> None:
    assert me_status(api, alice.refresh_token) == (401, "invalid_token")
    as_refresh = api.post("/api/v1/auth/refresh", json={"refresh_token": alice.access_token})
    assert as_refresh.status_code == 401


def test_garbage_and_missing_tokens_are_refused(api: httpx.Client) -> None:
    assert me_status(api, "not.a.jwt") == (401, "invalid_token")
    missing = api.get("/api/v1/auth/me")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthenticated"
    basic = api.get("/api/v1/auth/me", headers={"Authorization": "Basic YWxpY2U6cHc="})
    assert basic.status_code == 401


def test_a_token_for_a_session_of_another_user_is_refused(
    api: httpx.Client, alice: Account
) -> None:
    bob = register(api)
    mixed = claims_of(alice.access_token) | {"sub": bob.id}
    assert me_status(api, jwt.encode(mixed, JWT_SECRET, algorithm="HS256")) == (
        401,
        "invalid_token",
    )


@pytest.fixture(scope="module")
def rsa_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("keys")
    private = folder / "private.pem"
    public = folder / "public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture(scope="module")
def rs256_api(
    rsa_keys: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    private, public = rsa_keys
    server: ServerProcess = start_server(
        tmp_path_factory.mktemp("rs256"),
        {
            "JWT_ALGORITHM": "RS256",
            "JWT_PRIVATE_KEY_FILE": str(private),
            "JWT_PUBLIC_KEY_FILE": str(public),
            "APP_ENV": "production",
            "JWT_SECRET": "",
        },
    )
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client
    server.stop()


def test_rs256_tokens_work_and_hs256_signed_with_the_public_key_does_not(
    rs256_api: httpx.Client, rsa_keys: tuple[Path, Path]
) -> None:
    alice = register(rs256_api)
    assert jwt.get_unverified_header(alice.access_token)["alg"] == "RS256"
    assert me_status(rs256_api, alice.access_token) == (200, "")

    public_pem = rsa_keys[1].read_bytes()
    confused = hand_signed(
        {"alg": "HS256", "typ": "JWT"}, claims_of(alice.access_token), public_pem
    )
    assert me_status(rs256_api, confused) == (401, "invalid_token")
    header = b64url(json.dumps({"alg": "none"}).encode())
    payload = b64url(json.dumps(claims_of(alice.access_token)).encode())
    assert me_status(rs256_api, f"{header}.{payload}.") == (401, "invalid_token")
