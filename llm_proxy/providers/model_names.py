"""A model's two names: the one clients send and the one a key's upstream knows.

A key with `upstream_model` (SPEC §10) serves a client name under another upstream name:
passthrough bodies get the upstream name in `model`, and the answer (whole or each stream
event) names the client's model again, as an alias should. Both happen only for such
keys; every other request passes byte for byte.
"""
from __future__ import annotations

import json
import re

from ..errors import InvalidRequest

# The first "model" member of an answer or stream event: the top-level one in OpenAI's
# chat completions and chunks, Anthropic's message (and message_start's message), and
# the Responses events' response. A "model" inside a string is escaped and never matches.
_MODEL_MEMBER = re.compile(rb'"model"\s*:\s*"(?:[^"\\]|\\.)*"')


def with_model(body: dict, model: str, **more) -> bytes:
    """`body` as JSON with `model` (and the members in `more`) set."""
    try:
        return json.dumps({**body, "model": model, **more}, ensure_ascii=False).encode()
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply.",
                             code="invalid_json") from None
    except UnicodeEncodeError:  # a lone surrogate: keep the escapes
        return json.dumps({**body, "model": model, **more}).encode()


def renamed(data: bytes, model_json: bytes) -> bytes:
    """`data` with its first "model" member set to `model_json` (a JSON string)."""
    return _MODEL_MEMBER.sub(b'"model":' + model_json, data, count=1)


def answer_name(lease) -> bytes | None:
    """The client name an answer from `lease`'s key must carry as JSON, or None when the
    upstream's own name stands (the key has no upstream_model of its own)."""
    return rename_to(lease.wire_model, lease.model)


def rename_to(wire_model: str, served: str) -> bytes | None:
    """`served` as JSON when the upstream knows it as another `wire_model`, else None."""
    return json.dumps(served).encode() if wire_model != served else None
