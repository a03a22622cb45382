"""The server's time on a relayed action, as its two fields: the ISO string and milliseconds.

An action carries both (`server_timestamp`, `server_time_ms`); `datetime.now` with
`isoformat` and `timestamp` cost ~5 µs of a relay that costs ~60. From one integer clock
read, the date and time of day are formatted once a second, the fraction per action: the
same text as `iso_z(datetime.now(UTC))` (microseconds, dropped when zero, and `Z`).
"""

from __future__ import annotations

import time

_second = -1
_prefix = ""


def stamp(now_ns: int | None = None) -> tuple[str, int]:
    """(ISO 8601 UTC with `Z`, milliseconds since the epoch) of now, or of `now_ns`."""
    global _second, _prefix
    micros = (time.time_ns() if now_ns is None else now_ns) // 1000
    second, fraction = divmod(micros, 1_000_000)
    if second != _second:
        _prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = second
    text = f"{_prefix}.{fraction:06d}Z" if fraction else f"{_prefix}Z"
    return text, micros // 1000
