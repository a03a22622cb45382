"""`.env.example`, generated from `Settings`: every setting with its description and default.

    python -m parley config example > .env.example

`tests/test_config.py` fails when the committed file differs from what this writes, so a new
setting reaches the example the moment it reaches `config.py`.
"""

from __future__ import annotations

import textwrap
from enum import Enum
from pathlib import Path
from typing import Any, get_args

from pydantic.fields import FieldInfo

from parley.config import DurationSecs, Settings

WIDTH = 96
HEADER = """\
# Parley's settings, generated from src/parley/config.py: `python -m parley config example`.
# Copy to .env and uncomment what you change; every line shows the default. The README's
# Configuration table says more, and names the seeds' spellings each setting also accepts.
"""
_DURATION = get_args(DurationSecs)[1:]
_UNITS = (("h", 3600), ("m", 60), ("s", 1))


def env_example() -> str:
    blocks = [HEADER]
    for field in Settings.model_fields.values():
        blocks.append(_block(field))
    return "\n".join(blocks)


def _block(field: FieldInfo) -> str:
    alias = field.validation_alias
    name = str(alias.choices[0])  # type: ignore[union-attr]
    description = (field.description or "").replace("`", "")
    lines = textwrap.wrap(description, WIDTH - 2)
    value = _text(field.get_default(call_default_factory=True), field)
    return "".join(f"# {line}\n" for line in lines) + f"# {name}={value}\n"


def _text(value: Any, field: FieldInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and tuple(field.metadata) == _DURATION:
        return _duration(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _duration(secs: float) -> str:
    """`15m`, `168h`, `90s`: the largest unit that divides it (seconds otherwise)."""
    if not secs.is_integer() or secs == 0:
        return str(int(secs)) if secs.is_integer() else str(secs)
    for unit, size in _UNITS:
        if secs % size == 0:
            return f"{int(secs // size)}{unit}"
    return str(secs)
