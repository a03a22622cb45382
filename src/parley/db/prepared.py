"""Core statements compiled once per dialect and run on the DB-API cursor itself.

For the few statements that run on every send. SQLAlchemy's own execution (compiled-cache
lookup, parameter construction, type processing set up per call, result metadata) costs
several times what SQLite spends running such a statement; here all of that is worked out
once, when a statement is first prepared for a dialect, and a run is: convert each value
with its column type's own processor, `cursor.execute`, convert each result value.

Only statements without post-compile parameters (no `expanding` IN lists: build one
statement per list length instead, see `prepare_for`) and without server-side defaults
that the caller must read back. They run inside the session's transaction, on its
connection, from synchronous code (`AsyncSession.run_sync`): the driver's async calls are
awaited by SQLAlchemy's greenlet adapter, as for any statement it runs itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

Statement = Select[Any] | UpdateBase

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement, compiled for one dialect, with its value processors."""

    __slots__ = ("_fixed", "_names", "_no_results", "_pairs", "_positional", "_results", "sql")

    def __init__(self, statement: Statement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        binds = compiled.binds
        positional = compiled.positional
        names = list(compiled.positiontup or []) if positional else list(binds)
        self.sql: str = compiled.string
        self._positional = positional
        self._names = names
        self._pairs: list[tuple[str, Processor]] = [
            (name, binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
        ]
        # Values written into the statement (`kind == "mute"`) are parameters too.
        self._fixed = {
            name: bind.value
            for name, bind in binds.items()
            if not bind.required and bind.callable is None
        }
        self._results: list[Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.exported_columns
        ]
        self._no_results = all(process is None for process in self._results)

    def params(self, values: Mapping[str, Any]) -> Any:
        """The values in the driver's form: a tuple in the paramstyle's order, or a dict."""
        converted = []
        for name, process in self._pairs:  # a plain loop: this runs for every row stored
            try:
                value = values[name]
            except KeyError:
                value = self._value(values, name)
            converted.append(value if process is None else process(value))
        if self._positional:
            return tuple(converted)
        return dict(zip(self._names, converted, strict=True))

    def _value(self, values: Mapping[str, Any], name: str) -> Any:
        try:
            return values[name]
        except KeyError:
            if name in self._fixed:
                return self._fixed[name]
            raise ValueError(f"no value for the parameter {name!r} of: {self.sql}") from None

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run once; the result rows (none for a statement that returns none)."""
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, self.params(values))
            if cursor.description is None:
                return []
            return [self.row(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def execute_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row of values, in one driver call (no results)."""
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(self.sql, [self.params(row) for row in rows])
        finally:
            cursor.close()

    def row(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A result row's values in Python's form."""
        if self._no_results:
            return tuple(row)
        return tuple(
            value if process is None else process(value)
            for value, process in zip(row, self._results, strict=True)
        )


MAX_PREPARED = 512
"""Statements kept per dialect (per engine); the send path needs a few per list length it
meets, and starts again from none past this."""


def prepare_for(dialect: Dialect, key: Hashable, build: Callable[[], Statement]) -> Prepared:
    """The statement `build` makes, prepared for `dialect` once under `key` (kept on the
    dialect object: it lives as long as its engine)."""
    cache: dict[Hashable, Prepared] = vars(dialect).setdefault("_parley_prepared", {})
    found = cache.get(key)
    if found is None:
        if len(cache) >= MAX_PREPARED:
            cache.clear()
        found = cache[key] = Prepared(build(), dialect)
    return found
