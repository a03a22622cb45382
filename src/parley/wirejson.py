"""What JSON Parley accepts from clients, at every edge: REST bodies, `/ws` frames, Socket.IO
packets.

Anything stored must be deliverable to every reader, on every database, forever. So a JSON
text is refused, before anything acts on it, unless:

- it is valid UTF-8 with no lone surrogate (`"\\ud800"`): PostgreSQL refuses those and the
  encoder every reader goes through fails on them;
- no string (value or key) holds U+0000, which PostgreSQL text and JSON cannot store;
- it nests at most `max_depth` arrays/objects (the encoder gives up past 255 levels);
- every integer fits in signed 64 bits (a bigger one cannot be encoded for delivery, and a
  decoder would otherwise quietly turn it into a float), and every number is finite.

The check is cheap where it matters: the decoder (orjson) itself refuses bad UTF-8, lone
surrogates and infinities; the walk over the decoded value for depth, U+0000 and integer range
runs only when a byte scan says the text could break one of those rules (enough brackets, a
`\\u0000` escape, a run of 19 digits). A refusal names where it happened (`payload.k`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from parley.errors import MalformedRequest, ValidationFailed

DEFAULT_MAX_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
"""A translation table: every digit to `0`, everything else to a space."""
_LONG_RUN = b"0" * 19  # 2**63 has 19 digits
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(ValidationFailed):
    """Well-formed JSON that breaks the input policy (422 `validation_error` over HTTP)."""

    def __init__(self, message: str, path: list[str | int], value: Any = None) -> None:
        self.path = path
        self.value = value
        """The decoded text, when it could be decoded (to answer a frame by its id)."""
        super().__init__(message, fields=[{"field": dotted(path), "message": message}])


def dotted(path: list[str | int]) -> str:
    """`payload.items.3.k`; a key that is itself the problem is shown escaped (`a\\x00`)."""
    parts = (str(p) if deliverable(p) else ascii(p)[1:-1] for p in path)
    return ".".join(parts) or "body"


class _Breach(Exception):
    """Raised deep in the walk; the path is collected on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str | int] = []


@dataclass(frozen=True, slots=True)
class JsonPolicy:
    max_depth: int = DEFAULT_MAX_DEPTH

    def loads(self, data: bytes | str) -> Any:
        """The decoded value, or `MalformedRequest` (not JSON) / `JsonRefused` (policy)."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise self._why_undecodable(data) from None
        # Byte scans (a translate and a find are several times faster than a regex): only a
        # text that could break a rule below is walked.
        raw = data.encode() if isinstance(data, str) else data  # orjson took it: valid UTF-8
        suspect_ints = _LONG_RUN in raw.translate(_DIGITS_ONLY)
        if (
            not suspect_ints
            and (b"\\" not in raw or b"\\u0000" not in raw)  # one byte: memchr, fast
            and raw.count(b"{") + raw.count(b"[") <= self.max_depth
        ):
            return value
        try:
            self.check(value)  # first on orjson's value: the depth is bounded before the stdlib
            if suspect_ints:  # recurses (it fails past ~1000 levels, orjson takes 1024)
                # orjson turns integers past 64 bits into floats; the stdlib keeps them exact.
                value = json.loads(raw)
                self.check(value)
        except JsonRefused as refused:
            refused.value = value
            raise
        return value

    def check(self, value: Any) -> None:
        """Raise `JsonRefused` if a decoded value breaks the policy (depth, U+0000, ranges,
        lone surrogates)."""
        try:
            _walk(value, 1, self.max_depth)
        except _Breach as breach:
            breach.path.reverse()
            raise JsonRefused(breach.message, breach.path) from None

    def _why_undecodable(self, data: bytes | str) -> Exception:
        """orjson refused the text: a policy breach it detected, or plain malformed JSON."""
        if isinstance(data, bytes):
            try:
                data = data.decode()
            except UnicodeDecodeError:
                return JsonRefused("The JSON text is not valid UTF-8.", [])
        try:
            # The stdlib accepts what orjson refuses on policy grounds (lone surrogates,
            # infinities, any depth up to its recursion limit), so it tells the two apart.
            value = json.loads(data)
        except RecursionError:
            return JsonRefused(f"JSON nests deeper than {self.max_depth} levels.", [])
        except ValueError:
            return MalformedRequest()
        try:
            self.check(value)
        except JsonRefused as refused:
            refused.value = value
            return refused
        return MalformedRequest()


def deliverable(value: Any) -> bool:
    """Whether a decoded scalar (an id to echo, say) can be sent back as it came."""
    try:
        _walk(value, 1, 1)
    except _Breach:
        return False
    return True


def _walk(value: Any, depth: int, max_depth: int) -> None:
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        if depth > max_depth:
            raise _Breach(f"JSON nests deeper than {max_depth} levels.")
        for key, item in value.items():
            try:
                _check_text(key)
                _walk(item, depth + 1, max_depth)
            except _Breach as breach:
                breach.path.append(key)
                raise
    elif isinstance(value, list):
        if depth > max_depth:
            raise _Breach(f"JSON nests deeper than {max_depth} levels.")
        for index, item in enumerate(value):
            try:
                _walk(item, depth + 1, max_depth)
            except _Breach as breach:
                breach.path.append(index)
                raise
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Breach("Integers must fit in 64 bits (signed).")
    elif isinstance(value, float) and not math.isfinite(value):
        raise _Breach("Numbers must be finite.")


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise _Breach("Text may not contain U+0000 (NUL).")
    if not text.isascii() and _LONE_SURROGATE.search(text):
        raise _Breach("Text may not contain a lone UTF-16 surrogate.")
