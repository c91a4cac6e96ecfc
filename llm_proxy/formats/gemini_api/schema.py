"""Gemini's `Schema` (an OpenAPI 3.0 subset, https://ai.google.dev/api/caching#Schema) as
JSON Schema, which OpenAI's tools and response formats take.

The types are upper-case names there (`STRING`, `OBJECT`...), `nullable` stands for a
null alternative, and `propertyOrdering` only orders Gemini's output: it is left out.
`parametersJsonSchema` and `responseJsonSchema` are JSON Schema already and need none of
this.
"""
from __future__ import annotations

from ...errors import InvalidRequest

_KEPT = ("format", "title", "description", "enum", "maxItems", "minItems", "required",
         "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example",
         "default", "minimum", "maximum")
_DROPPED = ("propertyOrdering",)


def json_schema(schema, where: str) -> dict:
    """The JSON Schema for a Gemini Schema object; 400 naming `where` when it is none."""
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{where}: must be a Schema object.", param=where)
    out: dict = {}
    kind = schema.get("type")
    if kind is not None:
        if not isinstance(kind, str):
            raise InvalidRequest(f"{where}.type: must be a type name.", param=f"{where}.type")
        kind = kind.lower()
        if kind != "type_unspecified":
            out["type"] = [kind, "null"] if schema.get("nullable") is True else kind
    for name, value in schema.items():
        if name in _KEPT:
            out["examples" if name == "example" else name] = [value] \
                if name == "example" else value
        elif name == "properties":
            if not isinstance(value, dict):
                raise InvalidRequest(f"{where}.properties: must be an object.",
                                     param=f"{where}.properties")
            out["properties"] = {k: json_schema(v, f"{where}.properties.{k}")
                                 for k, v in value.items()}
        elif name == "items":
            out["items"] = json_schema(value, f"{where}.items")
        elif name == "anyOf":
            if not isinstance(value, list):
                raise InvalidRequest(f"{where}.anyOf: must be an array.", param=f"{where}.anyOf")
            out["anyOf"] = [json_schema(v, f"{where}.anyOf[{i}]") for i, v in enumerate(value)]
        elif name not in ("type", "nullable") and name not in _DROPPED:
            raise InvalidRequest(f"{where}: Unknown name \"{name}\": Cannot find field.",
                                 param=f"{where}.{name}")
    if schema.get("nullable") is True and "type" not in out and "anyOf" in out:
        out["anyOf"].append({"type": "null"})
    return out
