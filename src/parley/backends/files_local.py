"""The default file store: a directory on this machine (`<PARLEY_DATA_DIR>/uploads`).

Writes go to a temporary file in the same directory and are renamed into place, so a reader
sees the whole file or none; keys are checked so that none can name a path outside it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from parley.domain.ports import FileStore, check_file_key
from parley.errors import NotFound

CHUNK_BYTES = 64 * 1024


def _missing() -> NotFound:
    return NotFound("No such file.", code="upload_not_found")


class LocalFileStore(FileStore):
    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, key: str) -> Path:
        check_file_key(key)
        # Two levels of fan-out keep directories small.
        return self._root / key[:2] / key

    async def put(self, key: str, source: IO[bytes], *, size: int, content_type: str) -> None:
        await asyncio.to_thread(self._put, self._path(key), source, size)

    @staticmethod
    def _put(path: Path, source: IO[bytes], size: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                copied = 0
                while copied < size:
                    chunk = source.read(min(CHUNK_BYTES, size - copied))
                    if not chunk:
                        raise ValueError(f"the source ended after {copied} of {size} bytes")
                    out.write(chunk)
                    copied += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise _missing() from None
        try:
            await asyncio.to_thread(handle.seek, start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                want = CHUNK_BYTES if left is None else min(CHUNK_BYTES, left)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def rename(self, key: str, new_key: str, *, content_type: str) -> bool:
        source, target = self._path(key), self._path(new_key)
        return await asyncio.to_thread(self._rename, source, target)

    @staticmethod
    def _rename(source: Path, target: Path) -> bool:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except FileNotFoundError:
            return False
        return True

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        names = await asyncio.to_thread(self._list, prefix)
        for name in names:
            yield name

    def _list(self, prefix: str) -> list[str]:
        if not self._root.exists():
            return []
        return [
            path.name
            for folder in self._root.iterdir()
            if folder.is_dir()
            for path in folder.iterdir()
            if path.name.startswith(prefix) and path.is_file()
        ]
