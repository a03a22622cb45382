"""PostgreSQL: `to_tsvector('simple', content)` (GIN-indexed) against `plainto_tsquery`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column

from parley.db.models import Message
from parley.db.search.match import Match
from parley.db.search.schema import PG_CONFIG


def match(words: Sequence[str]) -> Match:
    # The expression must be the index's own (`schema.PG_VECTOR_SQL`) for the planner to use it.
    config: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")
    vector = func.to_tsvector(config, Message.content)
    # plainto_tsquery: plain text, every word required; it never raises a syntax error.
    wanted = func.plainto_tsquery(config, " ".join(words))
    return Match(condition=vector.op("@@")(wanted), score=func.ts_rank(vector, wanted))
