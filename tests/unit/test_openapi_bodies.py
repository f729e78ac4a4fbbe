"""Self-read request bodies get their OpenAPI from the models they validate with."""

from __future__ import annotations

import json

from pydantic import BaseModel

from app.api.deps import request_body


class _Item(BaseModel):
    name: str


class _Batch(BaseModel):
    items: list[_Item]


def test_nested_models_are_written_in_place() -> None:
    body = request_body({"application/json": _Batch})
    text = json.dumps(body)
    assert "$ref" not in text and "$defs" not in text
    schema = body["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["items"]["items"]["properties"]["name"]["type"] == "string"


def test_a_hand_made_schema_is_inlined_too() -> None:
    body = request_body({"application/json": {"oneOf": [_Batch.model_json_schema()]}}, "Why.")
    assert "$ref" not in json.dumps(body) and body["requestBody"]["description"] == "Why."
