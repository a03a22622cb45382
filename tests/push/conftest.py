"""The push tests' world: an RSA key and service account of the test's own, the receiver
process (webhook, OAuth2 token endpoint, FCM), and Parley servers pushing to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import migrate
from tests.support.push_receiver import PushReceiver, running_receiver
from tests.support.server import ServerProcess, start_server

WEBHOOK_SECRET = "push-test-secret"
GRACE_SECS = "1.5"
"""Long enough for a test to reconnect (or read) within it on a busy machine."""


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(public key PEM, private key PEM) of a key made for this run."""
    directory = tmp_path_factory.mktemp("push-keys")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = directory / "private.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = directory / "public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public, private


@pytest.fixture(scope="session")
def receiver(key_files: tuple[Path, Path]) -> Iterator[PushReceiver]:
    with running_receiver(key_files[0]) as running:
        yield running


def push_env(receiver: PushReceiver, **extra: str) -> dict[str, str]:
    return {
        "PUSH_NOTIFIER": "webhook",
        "PUSH_WEBHOOK_URL": f"{receiver.base_url}/webhook",
        "PUSH_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PUSH_GRACE_SECS": GRACE_SECS,
        "PUSH_RETRY_BASE_SECS": "0.05",
        "PUSH_RATE_LIMIT": "3",
        **extra,
    }


@pytest.fixture(scope="module")
def push_server(
    database_url: str, receiver: PushReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Parley with the webhook notifier, on each database."""
    data_dir = tmp_path_factory.mktemp("push-server")
    if not database_url.startswith("sqlite"):
        migrate(data_dir, database_url)
    process = start_server(data_dir, {"DATABASE_URL": database_url, **push_env(receiver)})
    yield process
    process.stop()


@pytest.fixture(scope="module")
def fcm_server(
    receiver: PushReceiver, key_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Parley with the FCM notifier pointed at the receiver (SQLite: the notifier is the
    subject here; the database side of pushes is the webhook suite's)."""
    data_dir = tmp_path_factory.mktemp("fcm-server")
    account = {
        "type": "service_account",
        "project_id": "parley-test",
        "private_key_id": "test-key-1",
        "private_key": key_files[1].read_text(),
        "client_email": "pusher@parley-test.iam.gserviceaccount.com",
        "token_uri": f"{receiver.base_url}/token",
    }
    account_file = data_dir / "service-account.json"
    account_file.write_text(json.dumps(account))
    env = push_env(
        receiver,
        PUSH_NOTIFIER="fcm",
        FCM_SERVICE_ACCOUNT_FILE=str(account_file),
        FCM_BASE_URL=receiver.base_url,
    )
    process = start_server(data_dir, {"DATABASE_URL": f"sqlite:///{data_dir / 'p.db'}", **env})
    yield process
    process.stop()


@pytest.fixture
def push_api(push_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=push_server.base_url, timeout=15) as client:
        yield client
