"""Signing in and out: registration, password login, token refresh, device sessions.

Every sign-in opens a device session; its refresh tokens rotate on use and are single-use. A
refresh token presented a second time means it leaked (or a client raced itself): the whole
session is revoked, so whoever holds the newer token is signed out too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import sessions as session_queries
from parley.db import users as user_queries
from parley.db.database import Database
from parley.db.models import DeviceSession, User
from parley.db.types import utcnow
from parley.domain.accounts.creation import add_account
from parley.domain.accounts.guard import SignInGuard
from parley.domain.accounts.principal import ClientInfo, Principal
from parley.domain.accounts.schemas import (
    AuthResult,
    DeviceContext,
    LoginRequest,
    SessionPublic,
    TokenPair,
    UserCreate,
    UserPublic,
)
from parley.domain.events import sessions_revoked
from parley.domain.roles import SELF_SERVICE_ROLES, AccountStatus, Role
from parley.domain.unit_of_work import UnitOfWork, Work
from parley.errors import (
    AccountDisabled,
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    RefreshTokenReused,
    SessionRevoked,
    TokenExpired,
)
from parley.security.passwords import PasswordHasher
from parley.security.tokens import TokenClaims, TokenService

GATEWAY_SESSION = uuid.UUID(int=0)
"""The session id of principals a trusted gateway vouches for."""


class AuthService:
    def __init__(
        self, uow: UnitOfWork, hasher: PasswordHasher, tokens: TokenService, guard: SignInGuard
    ) -> None:
        self._uow = uow
        self._db: Database = uow.db
        self._hasher = hasher
        self._tokens = tokens
        self.guard = guard

    @property
    def hasher_refused(self) -> int:
        """Hashes refused because the hashing queue was full."""
        return self._hasher.refused

    async def register(self, command: UserCreate, client: ClientInfo) -> AuthResult:
        if command.role not in SELF_SERVICE_ROLES:
            raise Forbidden(
                "Staff roles are assigned by an admin, not at sign-up.",
                code="role_not_allowed",
                field="role",
            )
        await self.guard.check_registration(client)
        async with self.guard.hashing(client):
            password_hash = await self._hasher.hash(command.password)
        try:
            async with self._db.transaction() as tx:
                user = await add_account(tx, command, password_hash)
                tokens = await self.open_session(tx, user, command, client)
        except IntegrityError as exc:  # lost a race with a simultaneous sign-up
            raise Conflict("That username or email is already taken.") from exc
        return AuthResult(user=UserPublic.model_validate(user), tokens=tokens)

    async def log_in(self, command: LoginRequest, client: ClientInfo) -> AuthResult:
        await self.guard.check_login(command.login, client)
        async with self._db.transaction() as tx:
            user = await user_queries.find_user_by_login(tx, command.login)
        # Always hash, even for an unknown user, so timing does not tell which accounts exist.
        async with self.guard.hashing(client):
            password_hash = user.password_hash if user else None
            valid = await self._hasher.verify(password_hash, command.password)
        if user is None or not valid:
            await self.guard.failed_login(command.login, client)
            raise InvalidCredentials()
        if user.status != AccountStatus.ACTIVE:
            raise AccountDisabled()
        async with self._db.transaction() as tx:
            tokens = await self.open_session(tx, user, command, client)
        return AuthResult(user=UserPublic.model_validate(user), tokens=tokens)

    async def open_session(
        self,
        tx: AsyncSession,
        user: User,
        device: DeviceContext,
        client: ClientInfo,
        *,
        otp_session_hash: str | None = None,
    ) -> TokenPair:
        """Start a device session for `user` inside the caller's transaction."""
        session_id = uuid.uuid4()
        refresh = self._tokens.issue_refresh(user.id, session_id)
        fcm_token = device.fcm_token or None
        await session_queries.add_session(
            tx,
            id=session_id,
            user_id=user.id,
            device_id=device.device_id,
            fcm_token=fcm_token,
            fcm_token_hash=session_queries.push_token_hash(fcm_token) if fcm_token else None,
            user_agent=client.user_agent,
            ip_address=client.ip_address,
            refresh_jti=refresh.jti,
            expires_at=refresh.expires_at,
            otp_session_hash=otp_session_hash,
        )
        if fcm_token:  # the device's token reaches this session's user from now on
            await session_queries.set_push_token(tx, session_id, fcm_token, now=utcnow())
        return self._pair(user, session_id, refresh.token)

    async def set_push_token(self, principal: Principal, token: str | None) -> SessionPublic:
        """Set (or, with None, clear) the calling device session's push token."""
        async with self._db.transaction() as tx:
            if not await session_queries.set_push_token(
                tx, principal.session_id, token or None, now=utcnow()
            ):
                raise NotFound("No active session with that id.", code="session_not_found")
            session = await tx.get(DeviceSession, principal.session_id, populate_existing=True)
            assert session is not None
            return _session_public(session, principal)

    async def refresh(self, refresh_token: str, client: ClientInfo) -> AuthResult:
        await self.guard.check_refresh(client)
        claims = self._tokens.verify_refresh(refresh_token)
        new_refresh = self._tokens.issue_refresh(claims.user_id, claims.session_id)
        now = utcnow()
        async with self._db.transaction() as tx:
            session, user = await self._live_session(tx, claims.session_id, claims.user_id, now)
            rotated = await session_queries.rotate_refresh(
                tx,
                session.id,
                old_jti=claims.jti,
                new_jti=new_refresh.jti,
                now=now,
                expires_at=new_refresh.expires_at,
            )
        if not rotated:
            async with self._uow() as work:
                await self._revoke(work, claims.user_id, claims.session_id, "refresh_reuse")
            raise RefreshTokenReused()
        tokens = self._pair(user, session.id, new_refresh.token)
        return AuthResult(user=UserPublic.model_validate(user), tokens=tokens)

    async def log_out(self, principal: Principal, *, all_devices: bool = False) -> int:
        async with self._uow() as work:
            session_id = None if all_devices else principal.session_id
            return await self._revoke(work, principal.user_id, session_id, "logout")

    async def authenticate(self, access_token: str) -> Principal:
        """The principal behind an access token; the session must still be live."""
        return await self.principal_of(self.verify_access(access_token))

    def verify_access(self, access_token: str) -> TokenClaims:
        """An access token's claims, once its signature, issuer, type and expiry hold (the
        session behind it not checked: `principal_of`)."""
        return self._tokens.verify_access(access_token)

    async def principal_of(self, claims: TokenClaims) -> Principal:
        """The principal of verified access-token claims; the session must still be live."""
        return await self.session_principal(
            claims.session_id, user_id=claims.user_id, expires_at=claims.expires_at
        )

    async def resume(
        self, user_id: uuid.UUID, session_id: uuid.UUID, expires_at: datetime | None
    ) -> Principal:
        """The principal a connection had, checked again without its token (a Socket.IO
        session resuming after a short disconnection): the device session must still be
        live, the account active and the access token it signed in with unexpired."""
        if session_id == GATEWAY_SESSION:
            return await self.trusted_principal(str(user_id))
        if expires_at is None or expires_at <= utcnow():
            raise TokenExpired()
        return await self.session_principal(session_id, user_id=user_id, expires_at=expires_at)

    async def trusted_principal(self, user_id: str, username: str | None = None) -> Principal:
        """A principal for an identity a trusted gateway vouches for (no token, no session).

        `user_id` is a Parley user's id, or the gateway's own id for the user (`user-123`):
        an account linked to it is made on first sight (a customer named `username`) and
        found again after. Only for deployments that switch it on; see
        SIO_TRUST_GATEWAY_IDENTITY.
        """
        user = await self._gateway_user(user_id, username)
        if user is None:
            raise InvalidToken("No user with that id.")
        if user.status != AccountStatus.ACTIVE:
            raise AccountDisabled()
        return Principal(
            user_id=user.id,
            session_id=GATEWAY_SESSION,
            role=Role(user.role),
            username=user.username,
            name=user.name,
        )

    async def _gateway_user(self, user_id: str, username: str | None) -> User | None:
        parley_id = _as_uuid(user_id)
        async with self._db.transaction() as tx:
            if parley_id is not None and (user := await user_queries.find_user(tx, parley_id)):
                return user
            user = await user_queries.find_by_external_id(tx, user_id)
            if user is not None:
                return user
        try:
            async with self._db.transaction() as tx:
                return await user_queries.add_user(
                    tx, external_id=user_id, name=(username or user_id)[:100]
                )
        except IntegrityError:  # another instance linked it at the same moment
            async with self._db.transaction() as tx:
                return await user_queries.find_by_external_id(tx, user_id)

    async def session_principal(
        self,
        session_id: uuid.UUID,
        *,
        user_id: uuid.UUID | None = None,
        expires_at: datetime | None = None,
    ) -> Principal:
        """The principal of a live device session (of `user_id`, when the credential names
        one): an access token's, or a credential that names the session as the phone
        sign-in's session token does."""
        found = await session_queries.session_status(self._db, session_id)
        # The same checks as _live_session, on columns rather than entities: this runs on
        # every socket connect and every REST call.
        if found is None or (user_id is not None and found.user_id != user_id):
            raise InvalidToken()
        if found.revoked_at is not None or found.expires_at <= utcnow():
            raise SessionRevoked()
        if found.status != AccountStatus.ACTIVE:
            raise AccountDisabled()
        return Principal(
            user_id=found.user_id,
            session_id=session_id,
            role=Role(found.role),
            username=found.username,
            name=found.name,
            expires_at=expires_at,
        )

    async def user_id_of(self, ref: str) -> uuid.UUID | None:
        """A user's id from a Parley id or a gateway's external id (None: nobody)."""
        parley_id = _as_uuid(ref)
        if parley_id is not None:
            return parley_id
        async with self._db.transaction() as tx:
            user = await user_queries.find_by_external_id(tx, ref)
        return user.id if user is not None else None

    async def record_device_info(self, principal: Principal, info: dict[str, Any]) -> None:
        """What the client says about its device, kept on its device session."""
        async with self._db.transaction() as tx:
            session = await tx.get(DeviceSession, principal.session_id)
            if session is not None and session.user_id == principal.user_id:
                session.device_info = info
                if info.get("device_id") and not session.device_id:
                    session.device_id = str(info["device_id"])

    async def list_sessions(self, principal: Principal) -> list[SessionPublic]:
        async with self._db.transaction() as tx:
            rows = await session_queries.list_active_sessions(tx, principal.user_id, utcnow())
        return [_session_public(row, principal) for row in rows]

    async def revoke_session(self, principal: Principal, session_id: uuid.UUID) -> None:
        async with self._uow() as work:
            revoked = await self._revoke(work, principal.user_id, session_id, "revoked_by_user")
        if not revoked:
            raise NotFound("No active session with that id.", code="session_not_found")

    @staticmethod
    async def _revoke(
        work: Work, user_id: uuid.UUID, session_id: uuid.UUID | None, reason: str
    ) -> int:
        """End one session (or all: None); once committed, every instance closes the live
        connections opened with them."""
        ended = await session_queries.revoke_sessions(
            work.tx, user_id=user_id, session_id=session_id, now=utcnow(), reason=reason
        )
        if ended:
            work.emit(sessions_revoked(user_id, ended, reason))
        return len(ended)

    async def _live_session(
        self, tx: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID, now: datetime
    ) -> tuple[DeviceSession, User]:
        found = await session_queries.find_session_with_user(tx, session_id)
        if found is None or found[0].user_id != user_id:
            raise InvalidToken()
        session, user = found
        if session.revoked_at is not None or session.expires_at <= now:
            raise SessionRevoked()
        if user.status != AccountStatus.ACTIVE:
            raise AccountDisabled()
        return session, user

    def _pair(self, user: User, session_id: uuid.UUID, refresh_token: str) -> TokenPair:
        access = self._tokens.issue_access(user.id, session_id, user.role)
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh_token,
            expires_in=int(self._tokens.access_ttl.total_seconds()),
        )


def _session_public(row: DeviceSession, principal: Principal) -> SessionPublic:
    return SessionPublic(
        id=row.id,
        device_id=row.device_id,
        user_agent=row.user_agent,
        ip_address=row.ip_address,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        current=row.id == principal.session_id,
        device_info=row.device_info,
        has_push_token=bool(row.fcm_token),
    )


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
