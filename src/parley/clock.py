"""Time as Parley writes it on the wire: UTC, ISO 8601, with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def now_iso() -> str:
    return iso_z(datetime.now(UTC))
