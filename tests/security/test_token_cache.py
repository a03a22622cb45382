"""Access tokens verified once are remembered: the same token again skips the signature check,
never its expiry, and nothing that failed verification is remembered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from parley.config import JwtAlgorithm
from parley.errors import InvalidToken, TokenExpired
from parley.security.tokens import TokenService

SECRET = "a-test-secret-of-at-least-thirty-two-bytes-0123456789"


class Clock:
    """The time a remembered token's expiry is compared with, set by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def service(clock: Clock, secret: str = SECRET, remembered: int = 100) -> TokenService:
    return TokenService(
        algorithm=JwtAlgorithm.HS256,
        signing_key=secret,
        verifying_key=secret,
        issuer="parley",
        access_ttl_secs=600,
        refresh_ttl_secs=3600,
        clock=clock,
        remembered=remembered,
    )


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    clock = Clock()
    tokens = service(clock)
    user, session = uuid.uuid4(), uuid.uuid4()
    issued = tokens.issue_access(user, session, "customer")
    first = tokens.verify_access(issued.token)
    assert tokens.verify_access(issued.token) == first  # remembered
    assert (first.user_id, first.session_id) == (user, session)

    clock.now = issued.expires_at + timedelta(seconds=1)
    with pytest.raises(TokenExpired):
        tokens.verify_access(issued.token)
    clock.now = datetime.now(UTC)  # forgotten: verified afresh (PyJWT's clock: still valid)
    assert tokens.verify_access(issued.token) == first


def test_bad_tokens_are_refused_every_time_and_never_remembered() -> None:
    tokens = service(Clock())
    issued = tokens.issue_access(uuid.uuid4(), uuid.uuid4(), "customer")
    forged = service(Clock(), secret=SECRET[::-1]).issue_access(uuid.uuid4(), uuid.uuid4(), "admin")
    tampered = issued.token[:-2] + ("AA" if not issued.token.endswith("AA") else "BB")
    refresh = tokens.issue_refresh(uuid.uuid4(), uuid.uuid4())
    for bad in (forged.token, tampered, refresh.token, "not-a-token"):
        for _ in range(2):
            with pytest.raises(InvalidToken):
                tokens.verify_access(bad)
    unsigned = jwt.encode(
        {**jwt.decode(issued.token, options={"verify_signature": False})}, key=None, algorithm=None
    )
    with pytest.raises(InvalidToken):
        tokens.verify_access(unsigned)
    assert tokens.verify_access(issued.token).jti == issued.jti


def test_the_remembered_tokens_are_bounded() -> None:
    tokens = service(Clock(), remembered=3)
    issued = [tokens.issue_access(uuid.uuid4(), uuid.uuid4(), "customer") for _ in range(5)]
    for token in issued:
        tokens.verify_access(token.token)
    assert len(tokens._verified) == 3
    assert list(tokens._verified) == [t.token for t in issued[2:]]  # the oldest went first
