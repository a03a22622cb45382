"""Hostile socket frames by the thousand, from a seeded random generator (fast and repeatable;
hypothesis would spend more time drawing than the server spends answering).

Every command frame carries at least one thing the server must refuse — a lone surrogate, a
NUL, nesting past 32, an int past 64 bits, a wrong type, an unknown command — so a reply
that accepts one is a failure, and nothing it names may be stored.
"""

from __future__ import annotations

import json
import random
from typing import Any

from tests.support.fuzzing import BIG, MAX_DEPTH, nested

POISON_STRINGS = ["\ud800", "a\udfffb", "\x00", "x\x00y", "\udc00\ud800"]


class FrameFuzzer:
    def __init__(
        self, seed: int, commands: dict[str, dict[str, Any]], *, max_chars: int | None = None
    ) -> None:
        """`commands`: each command name with a valid payload for it; `max_chars`: the
        server's MAX_MESSAGE_CHARS, to send content just over it."""
        self.random = random.Random(seed)
        self.commands = commands
        self.max_chars = max_chars

    def poison(self) -> Any:
        return self.labelled_poison()[0]

    def labelled_poison(self) -> tuple[Any, str]:
        r = self.random
        kind = r.randrange(4)
        if kind == 0:
            text = r.choice(POISON_STRINGS)
            return text, "NUL" if "\x00" in text else "lone surrogate"
        if kind == 1:
            return r.choice([1, -1]) * r.randrange(BIG, BIG**4), "int past 64 bits"
        if kind == 2:
            return nested(r.randrange(MAX_DEPTH + 1, MAX_DEPTH + 200)), "nesting past 32"
        text = r.choice(POISON_STRINGS)
        return "pre" + text + "post", "NUL" if "\x00" in text else "lone surrogate"

    def wrong_type(self) -> Any:
        return self.random.choice([True, [1, 2], {"a": 1}, 3.5, None, [], {}])

    def name(self) -> str:
        return self.random.choice(sorted(self.commands))

    def payload(self, name: str) -> tuple[Any, str]:
        """The command's valid payload with one hostile change, and what the change was."""
        r = self.random
        base = dict(self.commands[name])
        choice = r.randrange(7)
        if choice == 6 and self.max_chars is not None and "content" in base:
            base["content"] = "x" * (self.max_chars + r.randrange(1, 100))
            return base, "content over MAX_MESSAGE_CHARS"
        if choice == 0 and base:
            field = r.choice(sorted(base))
            base[field], what = self.labelled_poison()
            return base, f"{what} in {field}"
        strings = sorted(k for k, v in base.items() if isinstance(v, str))
        if choice == 1 and strings:
            # Only where the right type is known to be a string: a list or an object there
            # is wrong whatever the command (a None, a bool or a number might be coerced).
            field = r.choice(strings)
            base[field] = r.choice([[1, 2], {"a": 1}])
            return base, f"wrong type in {field}: {base[field]!r}"
        if choice == 2:
            field = r.choice(["extra", "room_id", "data", "since", "token"])
            base[field], what = self.labelled_poison()
            return base, f"{what} in {field}" + (
                "" if field in self.commands[name] else " (unknown)"
            )
        if choice == 3:
            text = r.choice(POISON_STRINGS)
            base[text] = "v"
            return base, ("NUL" if "\x00" in text else "lone surrogate") + " in a key"
        if choice == 4:
            base["payload"], what = self.labelled_poison()
            base["payload"] = {"k": base["payload"]}
            return base, f"{what} in payload"
        value = r.choice([[self.poison()], "\x00", nested(MAX_DEPTH + 5, dict(base))])
        return value, "data not an object" if not isinstance(value, dict) else "nesting past 32"

    def garbage_text(self) -> str:
        r = self.random
        return r.choice(
            [
                "",
                "{",
                "[",
                "null",
                "42",
                '"s"',
                "[]",
                '{"type": ',
                "{'type': 'ping'}",
                '{"type": "ping"} trailing',
                '{"type": NaN}',
                "\x00\x01",
                "{}" * r.randrange(1, 50),
                "[" * r.randrange(33, 3000),
                "9" * r.randrange(20, 400),
            ]
        )


def dumps(value: Any) -> str:
    """JSON text, lone surrogates and huge ints included (as ASCII escapes and digits)."""
    return json.dumps(value, ensure_ascii=True)
