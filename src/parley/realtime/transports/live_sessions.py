"""Device sessions a signed-in connection here already holds: a connect with another token
of one of them signs in without asking the database.

The hub ends a connection it serves the moment its session is revoked or its account is
disabled, and gives it a changed role at once: it hears those events on the user's channel,
which it follows while the user has a connection here, whichever instance the change was
made on. So while such a connection is open and not ended, its session is live and its
principal current, as far as this instance can know at all; a sign-in with a token of that
same session (a reconnect, a second tab or namespace of the device) takes the principal from
it, with its own token's expiry, instead of reading the session and the account again. The
token itself is verified as always (signature, issuer, type, expiry).

There is no time window: a session revoked while the connect is under way ends the
connection it borrowed from; `confirm` then ends the new one too, once it is served (or the
hub ends it, if it was served before the revocation arrived), as a connect that had read the
session just before the revocation would be ended by the hub.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from parley.domain.accounts.principal import Principal
from parley.realtime.connection import Connection
from parley.security.tokens import TokenClaims


class LiveSessions:
    """Signed-in connections by device session (only those the hub serves)."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[uuid.UUID, list[Connection]] = {}

    def __len__(self) -> int:
        """Sessions held."""
        return len(self._held)

    def add(self, connection: Connection) -> None:
        """A connection the hub now serves (signed in: it has its principal)."""
        principal = connection.principal
        if principal is not None:
            self._held.setdefault(principal.session_id, []).append(connection)

    def remove(self, connection: Connection) -> None:
        """The connection is gone (whether it was ever added or not)."""
        principal = connection.principal
        if principal is None:
            return
        held = self._held.get(principal.session_id)
        if held is None or connection not in held:
            # A renewal may have moved it to another session of the user: look it up.
            for session_id, connections in self._held.items():
                if connection in connections:
                    held, principal = connections, replace(principal, session_id=session_id)
                    break
            else:
                return
        held.remove(connection)
        if not held:
            del self._held[principal.session_id]

    def holder(self, claims: TokenClaims) -> Connection | None:
        """A live connection signed in with the same user's same device session."""
        for connection in self._held.get(claims.session_id, ()):
            principal = connection.principal
            if (
                connection.ended is None
                and principal is not None
                and principal.session_id == claims.session_id
                and principal.user_id == claims.user_id
            ):
                return connection
        return None

    def principal_for(self, claims: TokenClaims) -> tuple[Principal, Connection] | None:
        """The principal of verified claims, from a live holder of their session (with the
        claims' own expiry); None: ask the database."""
        donor = self.holder(claims)
        if donor is None or donor.principal is None:
            return None
        principal = donor.principal
        if principal.expires_at != claims.expires_at:  # else the same token: share it as is
            principal = replace(principal, expires_at=claims.expires_at)
        return principal, donor

    @staticmethod
    async def confirm(connection: Connection, donor: Connection | None) -> None:
        """After the connection signed in from `donor`: if the donor was ended meanwhile
        (before the hub served the new one, so the hub could not end it), end it as well."""
        if donor is None or donor.ended is None or connection.ended is not None:
            return
        error = connection.ended = donor.ended
        await connection.end(error.code, error.message)
