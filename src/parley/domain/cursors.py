"""Opaque page cursors: a position in a listing, given to the client as base64url JSON and
checked when it comes back (a cursor this server did not give is 422 on `cursor`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from parley.errors import ValidationFailed


def encode_cursor(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The position, a list of `length` values; ValidationFailed for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = orjson.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except (binascii.Error, orjson.JSONDecodeError, ValueError) as exc:
        raise not_ours() from exc
    if not isinstance(position, list) or len(position) != length:
        raise not_ours()
    return position


def not_ours() -> ValidationFailed:
    return ValidationFailed("That cursor is not one this server gave.", field="cursor")
