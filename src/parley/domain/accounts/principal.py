"""Who is calling: the authenticated user and device session behind a request or connection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from parley.domain.roles import Role
from parley.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    session_id: uuid.UUID
    role: Role
    username: str | None
    name: str
    expires_at: datetime | None = None
    """When the access token behind it expires (None: no token, e.g. a trusted gateway's)."""

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"This needs one of the roles: {allowed}.", code="role_required")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a sign-in comes from, recorded on the device session."""

    user_agent: str | None = None
    ip_address: str | None = None
