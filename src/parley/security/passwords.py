"""Argon2id password hashing, with a constant-time answer for unknown users, on a bounded
pool of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from parley.errors import SignInBusy

T = TypeVar("T")


class PasswordHasher:
    """Hashes run on `workers` threads of their own: a hash takes tens of milliseconds by
    design, and the event loop must keep serving sockets meanwhile. At most `queue` more wait
    for a thread; past that a sign-in is refused at once with `sign_in_busy` (503, retry
    after a second) rather than queued behind a flood of guesses."""

    def __init__(
        self, *, time_cost: int, memory_kib: int, workers: int = 2, queue: int = 64
    ) -> None:
        self._argon2 = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Verified against when the user does not exist, so that a wrong username costs the
        # same time as a wrong password and does not reveal which accounts exist.
        self._decoy_hash = self._argon2.hash("decoy password, never matches")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parley-hash")
        self._capacity = workers + queue
        self._pending = 0
        self.refused = 0
        """Hashes refused because the queue was full (a metric)."""

    async def hash(self, password: str) -> str:
        return await self._run(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._run(self._verify, password_hash, password)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        if self._pending >= self._capacity:
            self.refused += 1
            raise SignInBusy(retry_after=1)
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._pending -= 1

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash or self._decoy_hash, password) and (
                password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._argon2.check_needs_rehash(password_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
