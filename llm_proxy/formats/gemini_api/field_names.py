"""Gemini request bodies with every field name in lowerCamelCase.

Google's APIs parse JSON the protobuf way, which takes a field by its lowerCamelCase JSON
name or by its proto name (https://protobuf.dev/programming-guides/json/): the SDKs send
`inlineData: {"mime_type": ...}`, and REST clients may write `generation_config`. The
translation reads one spelling, so names are made lowerCamelCase where they are field
names, and left alone inside free-form values (function arguments and responses, JSON
schemas, a Schema's property names).
"""
from __future__ import annotations

# Message → {field: the message its value is (a list's items, a map's values), or FREE
# for a value whose keys are data}. A field not listed holds a scalar or a message whose
# own field names are converted one level deep.
FREE = "free"
_MESSAGES: dict[str, dict] = {
    "GenerateContentRequest": {"contents": "Content", "systemInstruction": "Content",
                               "tools": "Tool", "toolConfig": "ToolConfig",
                               "generationConfig": "GenerationConfig"},
    "CountTokensRequest": {"contents": "Content",
                           "generateContentRequest": "GenerateContentRequest"},
    "Content": {"parts": "Part"},
    "Part": {"functionCall": "FunctionCall", "functionResponse": "FunctionResponse"},
    "FunctionCall": {"args": FREE},
    "FunctionResponse": {"response": FREE, "parts": FREE},
    "Tool": {"functionDeclarations": "FunctionDeclaration"},
    "FunctionDeclaration": {"parameters": "Schema", "response": "Schema",
                            "parametersJsonSchema": FREE, "responseJsonSchema": FREE},
    "Schema": {"properties": "SchemaMap", "items": "Schema", "anyOf": "Schema",
               "example": FREE, "default": FREE},
    "GenerationConfig": {"responseSchema": "Schema", "responseJsonSchema": FREE},
    "ToolConfig": {},
    "EmbedContentRequest": {"content": "Content"},
    "BatchEmbedContentsRequest": {"requests": "EmbedContentRequest"},
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def normalized(value, message: str = "GenerateContentRequest"):
    """`value`, a `message`, with its field names (and its messages') in lowerCamelCase."""
    if isinstance(value, list):
        return [normalized(item, message) for item in value]
    if not isinstance(value, dict):
        return value
    if message == "SchemaMap":  # property names are the client's own
        return {name: normalized(item, "Schema") for name, item in value.items()}
    fields = _MESSAGES.get(message, {})
    out = {}
    for name, item in value.items():
        name = camel(name)
        child = fields.get(name)
        if child == FREE:
            out[name] = item
        elif child is not None:
            out[name] = normalized(item, child)
        elif message in _MESSAGES:
            out[name] = normalized(item, "?")  # a message of its own: one level of names
        else:
            out[name] = item
    return out
