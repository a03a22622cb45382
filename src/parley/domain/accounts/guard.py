"""What stands between password guessing and the accounts, without locking owners out.

- Wrong passwords are counted per account *and client address*: after
  LOGIN_FAILURES_PER_ACCOUNT in the window, that address must wait before trying that
  account again (429 `too_many_failed_logins`, `Retry-After`), while the owner signing in
  from anywhere else is not affected. No hard account lock exists to be turned against them.
- Every password sign-in is counted per client address, whatever the account (429
  `login_rate_limited`): spraying one password over many accounts from one address.
- Registrations and token refreshes per address (`registration_rate_limited`,
  `refresh_rate_limited`).
- At most a few sign-ins of one address are hashed at once on an instance
  (`too_many_attempts`): a flood of guesses from one address waits for nobody's turn but
  its own; the hashing pool's own bound (`sign_in_busy`) takes the rest.

Counted across instances when Redis is configured (the RateLimit port), in process otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from parley.domain.accounts.principal import ClientInfo
from parley.domain.ports import RateLimit
from parley.errors import RateLimited


@dataclass
class SignInLimits:
    attempts_per_client: RateLimit
    failures_per_account: RateLimit
    registrations_per_client: RateLimit
    refreshes_per_client: RateLimit
    in_flight_per_client: int


class SignInGuard:
    def __init__(self, limits: SignInLimits) -> None:
        self._limits = limits
        self._in_flight: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        """Refusals by code (a metric)."""

    async def check_login(self, login: str, client: ClientInfo) -> None:
        address = _address(client)
        await self._check(
            await self._limits.failures_per_account.peek(_account_key(login, address)),
            "too_many_failed_logins",
            "Too many wrong passwords for this account from your address",
        )
        await self._check(
            await self._limits.attempts_per_client.hit(address),
            "login_rate_limited",
            "Too many sign-ins from your address",
        )

    async def failed_login(self, login: str, client: ClientInfo) -> None:
        await self._limits.failures_per_account.hit(_account_key(login, _address(client)))

    async def check_registration(self, client: ClientInfo) -> None:
        await self._check(
            await self._limits.registrations_per_client.hit(_address(client)),
            "registration_rate_limited",
            "Too many accounts registered from your address",
        )

    async def check_refresh(self, client: ClientInfo) -> None:
        await self._check(
            await self._limits.refreshes_per_client.hit(_address(client)),
            "refresh_rate_limited",
            "Too many token refreshes from your address",
        )

    @asynccontextmanager
    async def hashing(self, client: ClientInfo) -> AsyncIterator[None]:
        """Around a password hash: a turn of this address's few."""
        address = _address(client)
        if self._in_flight[address] >= self._limits.in_flight_per_client:
            await self._check(1.0, "too_many_attempts", "Sign-ins from your address overlap")
        self._in_flight[address] += 1
        try:
            yield
        finally:
            self._in_flight[address] -= 1
            if not self._in_flight[address]:
                del self._in_flight[address]

    async def _check(self, retry_after: float | None, code: str, what: str) -> None:
        if retry_after is None:
            return
        seconds = max(1, int(retry_after + 0.999))
        self.refused[code] += 1
        raise RateLimited(f"{what}; try again in {seconds} s.", code=code, retry_after=seconds)


def _address(client: ClientInfo) -> str:
    return client.ip_address or "unknown"


def _account_key(login: str, address: str) -> str:
    return f"{login.strip().lower()}|{address}"
