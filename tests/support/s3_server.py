"""A real S3 API server for the tests: moto's standalone server (`python -m moto.server`) in a
subprocess on a spare port, with a bucket made through the S3 API itself.

Readiness is read from the server's log (werkzeug's "Running on"), so nothing polls or
sleeps. moto is a dev dependency: when it cannot start, the tests that need it fail.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.server import free_port
from tests.support.subprocess_server import logged_process

READY_MARKER = "Running on"
ACCESS_KEY = "parley-test-key"
SECRET_KEY = "parley-test-secret"  # moto accepts any pair
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def settings(self, bucket: str, prefix: str = "uploads") -> dict[str, str]:
        """Parley's environment for a file store in `bucket` on this server."""
        return {
            "FILE_STORE_URL": f"s3://{bucket}/{prefix}",
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def client(self) -> Any:
        """A plain boto3 client (moto's own dependency) for setting up and looking."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)

    def list_keys(self, bucket: str) -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in found.get("Contents", []))


@contextmanager
def running_s3_server(timeout_secs: float = 30) -> Iterator[S3Server]:
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with logged_process(
        command, READY_MARKER, f"moto's S3 server on port {port}", timeout_secs=timeout_secs
    ):
        yield S3Server(f"http://127.0.0.1:{port}")
