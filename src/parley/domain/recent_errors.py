"""The last error codes answered, on this instance: what the admin dashboard lists.

A bounded ring (oldest dropped first), fed by the transports as they answer an error (REST,
Socket.IO, plain WebSocket); it holds codes and where they were answered, never input.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from parley.clock import now_iso

KEPT = 50


@dataclass(frozen=True, slots=True)
class RecentError:
    at: str
    code: str
    source: str
    """`rest <METHOD> <route>`, `socket.io <event>` or `ws <frame type>`."""

    def public(self) -> dict[str, str]:
        return {"at": self.at, "code": self.code, "source": self.source}


class RecentErrors:
    def __init__(self, kept: int = KEPT) -> None:
        self._ring: deque[RecentError] = deque(maxlen=kept)
        self.total = 0

    def record(self, code: str, source: str) -> None:
        self.total += 1
        self._ring.append(RecentError(now_iso(), code, source[:120]))

    def latest(self, limit: int = KEPT) -> list[dict[str, str]]:
        """Newest first."""
        return [error.public() for error in list(reversed(self._ring))[:limit]]
