"""What the fuzz suites share: hostile JSON, request data drawn from the OpenAPI schema, and a
look at the server's log for crashes.

Hostile values are built as Python objects and written with `json.dumps` (ASCII escapes), so
a lone surrogate or a NUL reaches the server as the `\\ud800` / `\\u0000` a client can send,
and ints of any size are written out in full.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import strategies as st

from tests.support.server import ServerProcess

MAX_DEPTH = 32
"""Deepest JSON nesting the server is expected to take."""

BIG = 2**64
"""Ints at or beyond this (either sign) fit no 64-bit column or parser."""


def encode(value: Any) -> bytes:
    """JSON text for any value, lone surrogates and huge ints included."""
    return json.dumps(value, ensure_ascii=True).encode()


def nested(depth: int, leaf: Any = 1) -> Any:
    """A value `depth` levels deep, alternating lists and objects."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"d": value}
    return value


lone_surrogates = st.builds(
    lambda before, s, after: before + s + after,
    st.text(max_size=5),
    st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]),
    st.text(max_size=5),
)
nul_strings = st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=5), st.text(max_size=5))
huge_ints = st.one_of(
    st.integers(min_value=BIG, max_value=BIG**8),
    st.integers(min_value=-(BIG**8), max_value=-BIG),
)
too_deep = st.integers(min_value=MAX_DEPTH + 1, max_value=MAX_DEPTH + 300).map(nested)

poison = st.one_of(lone_surrogates, nul_strings, huge_ints, too_deep)
"""A value no JSON body or frame may carry anywhere: the server answers 422 / an error frame."""

wrong_types_for_string = st.one_of(
    st.booleans(),
    st.lists(st.integers(min_value=-10, max_value=10), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2),
)

RAW_GARBAGE = [
    b"",
    b"{",
    b'{"content": "x"',
    b"[1, 2",
    b'{"content": NaN}',
    b'{"content": Infinity}',
    b'{"content": "\xff\xfe"}',
    b'{"content": "\xed\xa0\x80"}',  # a surrogate in UTF-8 bytes
    b"\xef\xbb\xbf{}",
    b'{"content": "a", "content": [1]}',
    b"null",
    b"42",
    b'"just a string"',
    b"[]",
    b'{"content": "x"} trailing',
    b"{'content': 'single quotes'}",
    b"\x00\x01\x02",
]
"""Bodies or frames that are not one JSON object; each gets 400/422 or an error frame."""


def with_poison(
    base: dict[str, Any], string_fields: list[str], other_fields: tuple[str, ...] = ()
) -> st.SearchStrategy[Any]:
    """`base` (a valid body) with one hostile change: a poison value in a known field, in a new
    field, inside a nested object, or as a key; or a known string field of the wrong type."""
    known = st.sampled_from([*string_fields, *other_fields])

    def put(field: str, value: Any) -> dict[str, Any]:
        return {**base, field: value}

    return st.one_of(
        st.builds(put, known, poison),
        st.builds(put, st.sampled_from(string_fields), wrong_types_for_string),
        st.builds(put, st.sampled_from(["extra", "payload_x", "zz"]), poison),
        st.builds(lambda v: {**base, "payload": {"k": v}}, poison),
        st.builds(lambda k: {**base, k: "v"}, st.one_of(lone_surrogates, nul_strings)),
    )


# -- the server's log ----------------------------------------------------------------------------

PROBLEM_LEVELS = {"error", "critical", "exception"}


def log_problems(server: ServerProcess, since: int) -> list[str]:
    """Log lines from index `since` on that show a crash: tracebacks, exceptions, errors."""
    problems = []
    for line in server.log_lines[since:]:
        if "Traceback" in line:
            problems.append(line)
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            if "Error" in line or "exception" in line.lower():
                problems.append(line)
            continue
        if not isinstance(record, dict):
            continue
        if str(record.get("level", "")).lower() in PROBLEM_LEVELS or "exception" in record:
            problems.append(line)
    return problems


def assert_log_clean(server: ServerProcess, since: int) -> None:
    problems = log_problems(server, since)
    assert not problems, f"{len(problems)} crash lines in the server log, first:\n" + "\n".join(
        p[:2000] for p in problems[:3]
    )


# -- request data from the OpenAPI schema -------------------------------------------------------


class SchemaStrategies:
    """Hypothesis strategies for the values an OpenAPI 3.1 schema (pydantic's) describes.

    `valid` keeps to the schema but goes to its edges (an integer with no maximum may be
    2**64); `hostile` is anything a schema refuses or a server must not store."""

    def __init__(self, spec: dict[str, Any], known_ids: list[str]) -> None:
        self.components = spec.get("components", {}).get("schemas", {})
        self.known_ids = known_ids

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def ids(self) -> st.SearchStrategy[str]:
        strategies: list[st.SearchStrategy[str]] = [st.uuids().map(str)]
        if self.known_ids:
            strategies.append(st.sampled_from(self.known_ids))
        return st.one_of(*strategies)

    def hostile(self) -> st.SearchStrategy[Any]:
        return st.one_of(
            poison,
            wrong_types_for_string,
            st.none(),
            st.integers(),
            st.text(min_size=3000, max_size=3001),
        )

    def valid(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        schema = self.resolve(schema)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return st.one_of(*(self.valid(s, depth) for s in schema[key]))
        if "allOf" in schema:
            return self.valid(schema["allOf"][0], depth)
        kind = schema.get("type")
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            edges = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]
            in_range = [
                e for e in edges if (low is None or e >= low) and (high is None or e <= high)
            ]
            return st.one_of(
                st.integers(min_value=low, max_value=high),
                st.sampled_from(in_range or [low if low is not None else 0]),
            )
        if kind == "number":
            return st.floats(allow_nan=False, allow_infinity=False)
        if kind == "string":
            return self._string(schema)
        if kind == "array":
            if depth > 3:
                return st.just([])
            items = self.valid(schema.get("items", {}), depth + 1)
            return st.lists(items, max_size=min(int(schema.get("maxItems", 3)), 3))
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        return st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))

    def _string(self, schema: dict[str, Any]) -> st.SearchStrategy[str]:
        fmt = schema.get("format")
        if fmt == "uuid":
            return self.ids()
        if fmt == "email":
            return st.emails()
        low = int(schema.get("minLength", 0))
        high = min(int(schema.get("maxLength", 40)), 40)
        strategies = [st.text(min_size=low, max_size=max(low, high)), self.ids()]
        if "maxLength" in schema:
            longest = int(schema["maxLength"])
            strategies.append(st.text(min_size=longest, max_size=longest))
        return st.one_of(*strategies)

    def _object(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        if depth > 3 or not properties:
            scalars = st.integers() | st.text(max_size=8) | st.booleans()
            return st.dictionaries(st.text(max_size=8), scalars, max_size=3)
        fixed = {n: self.valid(s, depth + 1) for n, s in properties.items() if n in required}
        optional = {n: self.valid(s, depth + 1) for n, s in properties.items() if n not in required}
        return st.fixed_dictionaries(fixed, optional=optional)
