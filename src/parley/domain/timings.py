"""How long the unit of work's commits and the broker's publishes take, for whoever listens.

The metrics set the observers (`app.py`: histograms); the domain only reports. One
observation per commit (a group-commit batch of sends is one) and per publish.
"""

from __future__ import annotations

from collections.abc import Callable

Observe = Callable[[float], None]


def _ignore(_: float) -> None:
    return


class Timings:
    __slots__ = ("commit", "publish")

    def __init__(self) -> None:
        self.commit: Observe = _ignore
        """Seconds from the end of a unit of work's body to its commit's end."""
        self.publish: Observe = _ignore
        """Seconds one event's publish to the broker (or the recovery log) took."""
