"""JWT access and refresh tokens.

Verification accepts exactly the one configured algorithm, so `alg: none` and HS/RS confusion
(an RS256 public key used as an HMAC secret) are refused before any signature is checked. A
`typ` claim keeps refresh tokens from being used as access tokens and the other way round.

An access token verified once is remembered (its exact text, at most `VERIFIED_CACHE_SIZE` of
them, the oldest forgotten first): the same token again (a reconnect, a second namespace, a
second tab of one device) skips the signature and claim checks, which cost ~30 µs of a
connect; its expiry is checked every time. Only the signature's outcome is remembered, never
the session's: whether the session is still live is the caller's question.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import jwt

from parley.config import JwtAlgorithm, Settings
from parley.errors import ConfigurationError, InvalidToken, TokenExpired

ACCESS = "access"
REFRESH = "refresh"
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "sid", "typ", "jti"]
VERIFIED_CACHE_SIZE = 4096
"""Access tokens remembered as verified (~0.7 KiB each with their claims)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    role: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class TokenService:
    def __init__(
        self,
        *,
        algorithm: JwtAlgorithm,
        signing_key: str,
        verifying_key: str,
        issuer: str,
        access_ttl_secs: float,
        refresh_ttl_secs: float,
        clock: Callable[[], datetime] = partial(datetime.now, UTC),
        remembered: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        self.algorithm = algorithm
        self._signing_key = signing_key
        self._verifying_key = verifying_key
        self._issuer = issuer
        self.access_ttl = timedelta(seconds=access_ttl_secs)
        self.refresh_ttl = timedelta(seconds=refresh_ttl_secs)
        self._verified: dict[str, TokenClaims] = {}
        self._clock = clock
        self._remembered = remembered
        """What a remembered token's expiry is compared with (PyJWT keeps its own)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        if settings.jwt_algorithm is JwtAlgorithm.RS256:
            if not (settings.jwt_private_key_file and settings.jwt_public_key_file):
                raise ConfigurationError(
                    "JWT_ALGORITHM=RS256 needs JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE "
                    "(PEM files)."
                )
            signing = settings.jwt_private_key_file.read_text()
            verifying = settings.jwt_public_key_file.read_text()
        else:
            signing = verifying = settings.jwt_secret or settings.development_jwt_secret()
        return cls(
            algorithm=settings.jwt_algorithm,
            signing_key=signing,
            verifying_key=verifying,
            issuer=settings.jwt_issuer,
            access_ttl_secs=settings.access_token_ttl_secs,
            refresh_ttl_secs=settings.refresh_token_ttl_secs,
        )

    def issue_access(self, user_id: uuid.UUID, session_id: uuid.UUID, role: str) -> IssuedToken:
        return self._issue(ACCESS, user_id, session_id, self.access_ttl, {"role": role})

    def issue_refresh(self, user_id: uuid.UUID, session_id: uuid.UUID) -> IssuedToken:
        return self._issue(REFRESH, user_id, session_id, self.refresh_ttl, {})

    def verify_access(self, token: str) -> TokenClaims:
        verified = self._verified
        claims = verified.get(token)
        if claims is None:
            claims = self._verify(token, ACCESS)
            if len(verified) >= self._remembered:
                del verified[next(iter(verified))]  # the oldest
            verified[token] = claims
        elif claims.expires_at <= self._clock():
            del verified[token]
            raise TokenExpired()
        return claims

    def verify_refresh(self, token: str) -> TokenClaims:
        return self._verify(token, REFRESH)

    def _issue(
        self,
        kind: str,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        ttl: timedelta,
        extra: dict[str, Any],
    ) -> IssuedToken:
        now = datetime.now(UTC)
        expires_at = now + ttl
        jti = secrets.token_urlsafe(16)
        claims = {
            "iss": self._issuer,
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": kind,
            "jti": jti,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            **extra,
        }
        token = jwt.encode(claims, self._signing_key, algorithm=self.algorithm.value)
        return IssuedToken(token=token, jti=jti, expires_at=expires_at)

    def _verify(self, token: str, kind: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm.value],
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired() from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if claims["typ"] != kind:
            raise InvalidToken(f"An {kind} token is required here.")
        # A correctly signed token can still carry anything: only the shapes this server
        # writes are accepted (a number where a uuid belongs, or an `exp` past the year
        # 9999, is a bad token, not a crash).
        sub, sid, jti, role = claims["sub"], claims["sid"], claims["jti"], claims.get("role")
        if not all(isinstance(v, str) for v in (sub, sid, jti)) or not (
            role is None or isinstance(role, str)
        ):
            raise InvalidToken()
        try:
            return TokenClaims(
                user_id=uuid.UUID(sub),
                session_id=uuid.UUID(sid),
                jti=jti,
                role=role,
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            raise InvalidToken() from exc
