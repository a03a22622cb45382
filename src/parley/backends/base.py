"""The interfaces backends implement. Kept small on purpose: a new backend is one module."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self

MessageHandler = Callable[[str, bytes], None]
"""Called with (channel, payload) for every message on a subscribed channel. Must not block."""


class Resource:
    """A backend used as `async with`: opened at start-up, closed at shutdown (`aclose`).
    The in-process backends have nothing to open or close."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop what `__aenter__` started and let go of connections."""
        return


class Broker(Resource, ABC):
    """Carries bytes on named channels between instances.

    The hub subscribes to a channel while a local connection needs it and unsubscribes when
    the last one leaves; publishing reaches every instance subscribed, this one included.
    """

    def __init__(self) -> None:
        self._handler: MessageHandler | None = None

    def set_handler(self, handler: MessageHandler) -> None:
        self._handler = handler

    @abstractmethod
    async def publish(self, channel: str, payload: bytes) -> None: ...

    @abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the broker cannot carry messages right now."""


class PresenceStore(Resource, ABC):
    """Who is connected, and who is looking at which conversation, across instances.

    Connections are counted per user so that a second device does not announce the user
    online again and the first device closing does not announce them offline.
    """

    @abstractmethod
    async def add_connection(self, user_id: str, connection_id: str) -> bool:
        """Record a connection; True when it is the user's first."""

    @abstractmethod
    async def remove_connection(self, user_id: str, connection_id: str) -> bool:
        """Forget a connection; True when it was the user's last."""

    @abstractmethod
    async def is_online(self, user_id: str) -> bool: ...

    @abstractmethod
    async def enter(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        """Mark a connection as viewing; True when it is the user's first there."""

    @abstractmethod
    async def leave(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        """Unmark it; True when it was the user's last connection viewing."""

    @abstractmethod
    async def viewers(self, conversation_id: str) -> list[str]:
        """User ids viewing the conversation, in the order they arrived."""

    async def sweep(self) -> list[str]:
        """Forget what crashed instances left behind; returns the users that went offline.

        One process has nothing to sweep: its connections die with it.
        """
        return []
