"""Phone sign-in with one-time codes (the GOSOCKET seed's flow), done properly.

1. `request`: a 6-digit code from the CSPRNG is sent by SMS and stored as a keyed hash with
   an expiry, a purpose and an attempt count; the caller gets a session token for step 2 and
   whether the number is new. Rate limited per number and per client address.
2. `verify`: the right code (within OTP_MAX_ATTEMPTS tries, before it expires) signs the
   user in — creating the account on first use — with a device session and the same token
   pair as a password login.
3. `set_profile`: with the verified session token, set name, state, email, language.

The code appears in answers only with APP_ENV=development, as the seed did.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.database import Database
from parley.db.models import DeviceSession, OneTimeCode, User
from parley.db.types import utcnow
from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.creation import conflict_for
from parley.domain.accounts.principal import ClientInfo, Principal
from parley.domain.accounts.schemas import (
    AuthResult,
    DeviceContext,
    OtpProfile,
    OtpSent,
    OtpVerified,
    ProfileUpdated,
    UserPublic,
)
from parley.domain.ports import RateLimit, SmsSender
from parley.domain.roles import AccountStatus
from parley.errors import AccountDisabled, Unauthenticated, ValidationFailed
from parley.errors import RateLimited as RateLimitedError

PURPOSE_LOGIN = "login"


@dataclass(frozen=True, slots=True)
class OtpChallenge:
    mobile_no: str
    device_id: str | None
    session_token: str
    is_new_user: bool
    expires_in: int
    otp: str | None
    """Only in development."""

    def answer(self) -> OtpSent:
        """The seed's answer to `login` (REST and Socket.IO alike)."""
        answer: OtpSent = {
            "status": "success",
            "message": "OTP sent successfully",
            "mobile_no": self.mobile_no,
            "device_id": self.device_id,
            "session_token": self.session_token,
            "is_new_user": self.is_new_user,
            "expires_in": self.expires_in,
        }
        if self.otp is not None:
            answer["otp"] = self.otp
        return answer


@dataclass(frozen=True, slots=True)
class OtpSignIn:
    result: AuthResult
    is_new_user: bool

    def answer(self, session_token: str) -> dict[str, Any]:
        """The answer to `verify_otp`: a login's `{user, tokens}` plus the seed's fields."""
        verified = OtpVerified(
            status="success",
            message="OTP verified",
            user=self.result.user,
            tokens=self.result.tokens,
            token=self.result.tokens.access_token,
            session_token=session_token,
            is_new_user=self.is_new_user,
        )
        return verified.model_dump(mode="json")


def normalize_mobile(raw: str, default_region: str) -> str:
    # Say which form is expected: a seed's own example (+1234567890) is no real number, and
    # "not valid" alone leaves its user guessing.
    expected = (
        "Write it in international form, + then the country code and the number "
        f"(for example +14155550123), or as a number of region {default_region}."
    )
    try:
        number = phonenumbers.parse(raw, None if raw.strip().startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(
            f"That is not a phone number. {expected}", code="invalid_mobile_no", field="mobile_no"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            f"That is not a valid phone number (no such number is in use). {expected}",
            code="invalid_mobile_no",
            field="mobile_no",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class OtpService:
    def __init__(
        self,
        db: Database,
        auth: AuthService,
        sms: SmsSender,
        *,
        secret: str,
        ttl_secs: float,
        max_attempts: int,
        per_number: RateLimit,
        per_client: RateLimit,
        default_region: str,
        reveal_codes: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._auth = auth
        self._sms = sms
        self._key = hashlib.sha256(("otp:" + secret).encode()).digest()
        self._ttl = timedelta(seconds=ttl_secs)
        self._max_attempts = max_attempts
        self._per_number = per_number
        self._per_client = per_client
        self._region = default_region
        self._reveal = reveal_codes
        self._clock = clock
        """What time it is; expiry is decided by it (a test can turn it forward)."""

    def _hash(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    async def request(
        self, raw_mobile: str, device: DeviceContext, client: ClientInfo
    ) -> OtpChallenge:
        mobile = normalize_mobile(raw_mobile, self._region)
        for limiter, key in (
            (self._per_number, mobile),
            (self._per_client, client.ip_address or "unknown"),
        ):
            retry_after = await limiter.hit(key)
            if retry_after is not None:
                seconds = max(1, int(retry_after + 0.999))
                raise RateLimitedError(
                    f"Too many codes requested; try again in {seconds} s.",
                    code="otp_rate_limited",
                    retry_after=seconds,
                )
        code = f"{secrets.randbelow(1_000_000):06d}"
        session_token = secrets.token_urlsafe(32)
        async with self._db.transaction() as tx:
            existing = await _user_by_mobile(tx, mobile)
            tx.add(
                OneTimeCode(
                    mobile_no=mobile,
                    purpose=PURPOSE_LOGIN,
                    code_hash=self._hash(code),
                    session_token_hash=self._hash(session_token),
                    device_id=device.device_id,
                    fcm_token=device.fcm_token,
                    expires_at=self._clock() + self._ttl,
                )
            )
        await self._sms.send(mobile, f"Your Parley code is {code}", purpose=PURPOSE_LOGIN)
        return OtpChallenge(
            mobile_no=mobile,
            device_id=device.device_id,
            session_token=session_token,
            is_new_user=existing is None,
            expires_in=int(self._ttl.total_seconds()),
            otp=code if self._reveal else None,
        )

    async def verify(
        self, raw_mobile: str, session_token: str, code: str, client: ClientInfo
    ) -> OtpSignIn:
        mobile = normalize_mobile(raw_mobile, self._region)
        now = self._clock()
        async with self._db.transaction() as tx:
            challenge = await self._challenge(tx, mobile, session_token)
            if challenge.verified_at is not None:
                raise Unauthenticated("This code was used already.", code="otp_used")
            if challenge.expires_at <= now:
                raise Unauthenticated(
                    "This code has expired; request a new one.", code="otp_expired"
                )
            if challenge.attempts >= self._max_attempts:
                raise Unauthenticated("Too many wrong codes; request a new one.", code="otp_locked")
            # The checks above answer the common case from what was read; the conditional
            # updates below decide under concurrency (on PostgreSQL and MariaDB simultaneous
            # guesses all read the same row): each wrong guess counts only while the count is
            # under the limit, and the right one signs in only once and only while it is.
            if not hmac.compare_digest(challenge.code_hash, self._hash(code.strip())):
                await self._while_open(tx, challenge.id, attempts=OneTimeCode.attempts + 1)
                attempts = await tx.scalar(
                    select(OneTimeCode.attempts)
                    .where(OneTimeCode.id == challenge.id)
                    .with_for_update()  # MariaDB: the current row, not the snapshot
                )
                left = self._max_attempts - int(attempts or 0)
                wrong = Unauthenticated("Wrong code.", code="otp_invalid", attempts_left=left)
            else:
                wrong = None
                await self._while_open(
                    tx, challenge.id, OneTimeCode.expires_at > now, verified_at=now
                )
                challenge.verified_at = now
                user = await _user_by_mobile(tx, mobile)
                is_new = user is None
                if user is None:
                    user = User(mobile_no=mobile, name="", password_hash=None)
                    tx.add(user)
                    await tx.flush()
                if user.status != AccountStatus.ACTIVE:
                    raise AccountDisabled()
                challenge.user_id = user.id
                device = DeviceContext(device_id=challenge.device_id, fcm_token=challenge.fcm_token)
                tokens = await self._auth.open_session(
                    tx, user, device, client, otp_session_hash=challenge.session_token_hash
                )
                public = UserPublic.model_validate(user)
        if wrong is not None:  # the attempt was counted (committed) before saying no
            raise wrong
        return OtpSignIn(AuthResult(user=public, tokens=tokens), is_new)

    async def principal_for(self, session_token: str) -> Principal:
        """Who a verified phone sign-in's `session_token` signed in, while the device session
        it opened lives (the GOSOCKET seed's clients send it with `player_action`)."""
        async with self._db.transaction() as tx:
            session_id = await tx.scalar(
                select(DeviceSession.id).where(
                    DeviceSession.otp_session_hash == self._hash(session_token)
                )
            )
        if session_id is None:
            raise Unauthenticated(
                "That session_token signed nobody in; verify_otp first.", code="invalid_token"
            )
        return await self._auth.session_principal(session_id)

    async def set_profile(self, profile: OtpProfile) -> UserPublic:
        """After verifying: name, state, email and language of the phone's account."""
        mobile = normalize_mobile(profile.mobile_no, self._region)
        email = str(profile.email) if profile.email else None
        async with self._db.transaction() as tx:
            challenge = await self._challenge(tx, mobile, profile.session_token)
            if challenge.verified_at is None or challenge.user_id is None:
                raise Unauthenticated("Verify the code first.", code="otp_not_verified")
            user = await tx.get(User, challenge.user_id)
            if user is None:
                raise Unauthenticated("That account no longer exists.", code="otp_not_verified")
            if email is not None:
                email = email.lower()
                taken = await tx.scalar(
                    select(User.id).where(User.email == email, User.id != user.id)
                )
                if taken is not None:
                    raise conflict_for(["email"])
                user.email = email
            for field, value in (
                ("name", profile.full_name),
                ("state", profile.state),
                ("language", profile.language),
            ):
                if value is not None:
                    setattr(user, field, value)
            await tx.flush()
            return UserPublic.model_validate(user)

    async def delete_expired(self) -> int:
        """Cleanup: codes past their expiry are of no use to anyone."""
        async with self._db.transaction() as tx:
            result = await tx.execute(
                delete(OneTimeCode).where(OneTimeCode.expires_at <= self._clock())
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _while_open(
        self, tx: AsyncSession, code_id: uuid.UUID, *conditions: Any, **values: Any
    ) -> None:
        """Change the code only while it is still open — unused, under the attempt limit, and
        `conditions` — in one conditional UPDATE; otherwise raise why it is not."""
        changed = await tx.execute(
            update(OneTimeCode)
            .where(
                OneTimeCode.id == code_id,
                OneTimeCode.attempts < self._max_attempts,
                OneTimeCode.verified_at.is_(None),
                *conditions,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(changed) != 1:
            raise await self._refusal(tx, code_id)

    async def _refusal(self, tx: AsyncSession, code_id: uuid.UUID) -> Unauthenticated:
        """Why a conditional update matched nothing: another request used or locked the code."""
        verified_at, attempts = (
            await tx.execute(
                select(OneTimeCode.verified_at, OneTimeCode.attempts)
                .where(OneTimeCode.id == code_id)
                .with_for_update()  # MariaDB: the current row, not the snapshot
            )
        ).one()
        if verified_at is not None:
            return Unauthenticated("This code was used already.", code="otp_used")
        if attempts >= self._max_attempts:
            return Unauthenticated("Too many wrong codes; request a new one.", code="otp_locked")
        return Unauthenticated("This code has expired; request a new one.", code="otp_expired")

    async def _challenge(self, tx: AsyncSession, mobile: str, session_token: str) -> OneTimeCode:
        found = (
            await tx.execute(
                select(OneTimeCode).where(
                    OneTimeCode.session_token_hash == self._hash(session_token),
                    OneTimeCode.mobile_no == mobile,
                )
            )
        ).scalar_one_or_none()
        if found is None:
            raise Unauthenticated(
                "No code was requested with that session token.", code="otp_session_invalid"
            )
        return found


async def _user_by_mobile(tx: AsyncSession, mobile: str) -> User | None:
    return (await tx.execute(select(User).where(User.mobile_no == mobile))).scalar_one_or_none()


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def profile_answer(user: UserPublic) -> dict[str, Any]:
    """The seed's answer to a profile update, on REST and Socket.IO alike."""
    updated = ProfileUpdated(status="success", message="Profile updated", user=user)
    return updated.model_dump(mode="json")
