"""JSON Schemas of the shapes the sockets carry, under `#/components/schemas/`.

What a client sends is described as pydantic validates it (`validation`: defaults make a
field optional); what the server sends, as it is dumped (`serialization`): every field of a
model is always there, so each is required, and a TypedDict's keys are required unless
`NotRequired` (absent, not null, when they do not apply).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

SCHEMAS = "#/components/schemas/"
Mode = JsonSchemaMode


class WireJsonSchema(GenerateJsonSchema):
    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return True  # a model's dump has every field, defaults included
        return super().field_is_required(field, total)


class Schemas:
    """Collects shapes, then gives each its schema (a `$ref` for a named one) and the
    definitions they need."""

    def __init__(self) -> None:
        self._wanted: dict[tuple[int, Mode], Any] = {}

    def want(self, shape: Any, mode: Mode) -> None:
        self._wanted[(id(shape), mode)] = shape

    def build(self) -> tuple[dict[tuple[int, Mode], dict[str, Any]], dict[str, Any]]:
        """(shape id, mode) → its schema; and the definitions, by name."""
        inputs = [
            (key, mode, TypeAdapter(shape).core_schema)
            for (key, mode), shape in self._wanted.items()
        ]
        generator = WireJsonSchema(ref_template=SCHEMAS + "{model}")
        schemas, definitions = generator.generate_definitions(inputs)
        return dict(schemas), {str(name): schema for name, schema in definitions.items()}
