"""The bytes of one upload as they arrive: counted, hashed, spooled to a temporary file."""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO

from parley.domain.uploads.sniff import SNIFF_BYTES
from parley.errors import PayloadTooLarge


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"An upload holds at most {max_bytes} bytes.",
        code="upload_too_large",
        limit_bytes=max_bytes,
    )


class IncomingFile:
    """The bytes of one upload as they arrive: counted, hashed, spooled to a temporary file."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.head = b""
        self._hash = hashlib.sha256()
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by close()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self._hash.update(data)
        self.file.write(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        self.file.close()


def clean_filename(name: str | None) -> str | None:
    """The last path segment, without control characters, at most 255 characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c >= " " and c != "\x7f").strip()
    return cleaned[:255] or None
