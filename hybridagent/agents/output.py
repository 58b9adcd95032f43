"""Structured output from a JSON schema: the SDK's output type for a spec's output_schema.

Subclasses AgentOutputSchema because the Temporal plugin's model stub accepts only that
class; the schema crosses to the model activity as JSON, and the workflow validates the
model's answer with jsonschema.
"""

from __future__ import annotations

import json
from typing import Any

from agents import AgentOutputSchema, ModelBehaviorError
from jsonschema import Draft202012Validator


class JsonSchemaOutput(AgentOutputSchema):
    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        # Not strict: OpenAI's strict mode requires every property and forbids many
        # keywords; a user's schema is sent as written and checked here.
        super().__init__(dict, strict_json_schema=False)
        self._name = name
        self._output_schema = schema
        self._validator = Draft202012Validator(schema)

    def name(self) -> str:
        return self._name

    def validate_json(self, json_str: str) -> Any:
        try:
            # strict=False: llama.cpp's JSON grammar lets raw newlines into strings.
            value = json.loads(json_str, strict=False)
        except json.JSONDecodeError as err:
            raise ModelBehaviorError(f"The model's output is not JSON: {err}.") from None
        error = next(iter(self._validator.iter_errors(value)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the root"
            raise ModelBehaviorError(
                f"The model's output does not match the {self._name} schema at {where}: "
                f"{error.message}."
            )
        return value
