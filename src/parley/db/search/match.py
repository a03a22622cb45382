"""What a dialect's full-text module hands the shared search query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause


@dataclass(frozen=True, slots=True)
class Match:
    condition: ColumnElement[bool]
    score: ColumnElement[Any]
    """Higher is better; comparable only within one query."""
    index: tuple[FromClause, ColumnElement[bool]] | None = None
    """The index as a table of its own, joined on this condition (SQLite's FTS5)."""
