"""A relayed action's server time: the same text as `iso_z(datetime.now(UTC))`, and the
milliseconds of that same moment."""

from __future__ import annotations

from datetime import UTC, datetime

from parley.clock import iso_z
from parley.domain.gameplay.stamps import stamp


def test_stamps_read_as_iso_z_of_the_same_moment() -> None:
    moments = [
        datetime(2026, 12, 2, 2, 27, 11, 123456, tzinfo=UTC),
        datetime(2026, 12, 2, 2, 27, 11, 999999, tzinfo=UTC),
        datetime(2026, 12, 2, 2, 27, 12, tzinfo=UTC),  # no fraction: none written
        datetime(2026, 12, 2, 2, 27, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 12, 2, 2, 27, 11, 7, tzinfo=UTC),  # back in time: formatted afresh
    ]
    for moment in moments:
        epoch = moment - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (epoch.days * 86_400 + epoch.seconds) * 1_000_000 + epoch.microseconds
        text, millis = stamp(micros * 1000 + 999)  # nanoseconds below a microsecond dropped
        assert text == iso_z(moment)
        assert millis == micros // 1000
        assert datetime.fromisoformat(text) == moment


def test_now_is_now() -> None:
    before = datetime.now(UTC)
    text, millis = stamp()
    after = datetime.now(UTC)
    assert before <= datetime.fromisoformat(text) <= after
    assert int(before.timestamp() * 1000) <= millis <= int(after.timestamp() * 1000) + 1
