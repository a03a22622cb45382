"""SQLite: FTS5 over the external-content table `messages_fts`, ranked by bm25."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import column, literal_column, table

from parley.db.search.match import Match
from parley.db.search.schema import FTS_TABLE

_fts = table(FTS_TABLE, column("rowid"), column("rank"))


def fts5_query(words: Sequence[str]) -> str:
    """Every word as a quoted FTS5 string: all must occur, and none is ever an operator
    (`NEAR`, `AND`, `-`, `*`, `^`, column filters are just words here)."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def match(words: Sequence[str]) -> Match:
    condition = literal_column(FTS_TABLE).op("MATCH")(fts5_query(words))
    # FTS5's `rank` is bm25(): more negative is better.
    on = _fts.c.rowid == literal_column("messages.rowid")
    return Match(condition=condition, score=-_fts.c.rank, index=(_fts, on))
