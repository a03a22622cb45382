"""What a game room may hold: values the stores can keep and every transport can send back.

A room's settings, its shared state and each player's state are bounded in encoded size
(`GAME_MAX_SETTINGS_BYTES`, `GAME_MAX_STATE_BYTES`) and in nesting depth, and must encode as
JSON (no integers beyond 64 bits, no lone surrogates): whatever is refused is refused before
anything is stored, so a command that fails leaves nothing behind. Frames are bounded more
tightly when they are decoded; these are the domain's own limits, whatever the transport.
"""

from __future__ import annotations

from typing import Any

import orjson

from parley.domain.events import Event
from parley.errors import PayloadTooLarge, ValidationFailed

MAX_DEPTH = 32
"""Deepest nesting of a room's settings: the room record is read back (from Redis) by a parser
that stops at 200 levels, and events and snapshots wrap it deeper again."""

ENCODER_MAX_DEPTH = 255
"""orjson refuses to write anything nested this deep."""

HEADROOM_LEVELS = 16
"""Levels of nesting that snapshots, events and transport packets add around a value."""

_HOLDER: list[Any] = [None]
_HEADROOM: list[Any] = _HOLDER
for _ in range(HEADROOM_LEVELS - 1):
    _HEADROOM = [_HEADROOM]

ENTRY_OVERHEAD_BYTES = 4
"""A key's quotes, its colon and the comma after its value, when the shared state is encoded."""


def entry_bytes(key: str, encoded_value_bytes: int) -> int:
    """What one key of the shared state adds to its encoded size. The Redis relay script
    counts the same way (byte lengths of the key and of the value's JSON)."""
    return len(key.encode("utf-8", "surrogatepass")) + encoded_value_bytes + ENTRY_OVERHEAD_BYTES


def shared_bytes(shared: dict[str, Any]) -> int:
    """The encoded size of a shared state, as `entry_bytes` counts it."""
    return sum(entry_bytes(key, len(orjson.dumps(value))) for key, value in shared.items())


def encoded(value: Any, what: str) -> bytes:
    """`value` as JSON, or a stable error saying why it cannot be kept."""
    if _too_deep(value):
        raise ValidationFailed(
            f"The {what} is nested more than {MAX_DEPTH} levels deep.",
            code="nesting_too_deep",
            max_depth=MAX_DEPTH,
        )
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise _unstorable(what, exc) from None


def action_bytes(value: Any, what: str) -> int:
    """The encoded size of an action, refusing what could not be encoded again where it is
    carried: inside snapshots and events, up to HEADROOM_LEVELS levels deeper. One encode on
    the hot path instead of a walk (nesting is bounded more tightly when frames are decoded;
    this is the backstop for what the store could not keep)."""
    _HOLDER[0] = value
    try:
        return len(orjson.dumps(_HEADROOM)) - 2 * HEADROOM_LEVELS
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise _unstorable(what, exc) from None
    finally:
        _HOLDER[0] = None


def sequenced(event: Event, what: str, limit: int) -> tuple[bytes, bytes]:
    """The relayed action's event encoded for the store (`Event.encode_sequenced`), refused
    when it is over `limit` bytes or could not be carried. The hot path: one encode, and the
    check for room to spare only for encodings long enough to nest that deep (each level
    takes two bytes)."""
    try:
        head, tail = event.encode_sequenced()
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise _unstorable(what, exc) from None
    size = len(head) + len(tail)
    require_size(size, limit, what, "state_too_large")
    if size >= 2 * (ENCODER_MAX_DEPTH - HEADROOM_LEVELS):
        action_bytes(event.data, what)
    return head, tail


def require_size(size: int, limit: int, what: str, code: str) -> None:
    if size > limit:
        raise PayloadTooLarge(
            f"The {what} would be {size} bytes; at most {limit} are kept.",
            code=code,
            max_bytes=limit,
        )


def state_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The room's shared state would grow past {limit} bytes.",
        code="state_too_large",
        max_bytes=limit,
    )


def _unstorable(what: str, exc: Exception) -> ValidationFailed:
    return ValidationFailed(f"The {what} cannot be stored: {exc}.", code="invalid_value")


def _too_deep(value: Any) -> bool:
    """Whether containers nest deeper than MAX_DEPTH (iteratively: no recursion limit)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False
