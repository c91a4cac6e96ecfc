"""Responses `instructions` and `input` as OpenAI Chat Completions messages.

Input items per https://platform.openai.com/docs/api-reference/responses/create#responses-create-input:
messages (role developer/system/user/assistant; content a string or `input_text`,
`input_image`, `input_file`, `output_text`, `refusal` parts), `function_call` and
`function_call_output` items; `reasoning` items are the model's own earlier thinking,
which no other provider can read, and are left out. A function call of a namespaced tool
names its namespace; the chat tool carries both names in one (chat_tools.flat_name).
Consecutive function calls form one assistant message, as chat's tool_calls do.
"""
from __future__ import annotations

from ...errors import InvalidRequest
from .chat_tools import flat_name

TEXT_JOIN = "\n\n"
_ROLES = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant"}
_SKIPPED = {"reasoning"}
# Items that point at state kept by OpenAI, or at calls of tools only OpenAI runs.
_STATEFUL = {"item_reference": "an item reference needs the response stored at OpenAI"}


def chat_messages(body: dict) -> list:
    """The chat `messages` for a Responses body (which is left unchanged)."""
    out: list = []
    instructions = body.get("instructions")
    if instructions:
        out.append({"role": "system", "content": instructions})
    given = body.get("input")
    if isinstance(given, str):
        return out + [{"role": "user", "content": given}]
    for i, item in enumerate(given or ()):
        where = f"input[{i}]"
        kind = item.get("type", "message")
        if kind == "message":
            message = _message(item, where)
            if message:
                out.append(message)
        elif kind == "function_call":
            _add_call(out, _call(item, where))
        elif kind == "function_call_output":
            out.append(_output(item, where))
        elif kind in _SKIPPED:
            continue
        else:
            reason = _STATEFUL.get(kind, "it is not a message or a function call")
            raise InvalidRequest(f"'{where}.type' '{kind}' is not supported for this model: "
                                 f"{reason}.", param=f"{where}.type", code="unsupported_value")
    if not out:
        raise InvalidRequest("'input' holds no message for this model.", param="input",
                             code="invalid_value")
    return out


def _message(item: dict, where: str) -> dict | None:
    role = _ROLES.get(item.get("role"))
    if role is None:
        raise InvalidRequest(f"Invalid value for '{where}.role': expected one of developer, "
                             "system, user, assistant.", param=f"{where}.role",
                             code="invalid_value")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise InvalidRequest(f"'{where}.content' must be a string or an array of content "
                             "parts.", param=f"{where}.content", code="invalid_type")
    parts = [_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
    if role != "user" and any(p["type"] != "text" for p in parts):
        raise InvalidRequest(f"'{where}.content': only text is supported in {item['role']} "
                             "messages.", param=f"{where}.content", code="invalid_value")
    if not parts:
        return None
    if all(p["type"] == "text" for p in parts):
        return {"role": role, "content": TEXT_JOIN.join(p["text"] for p in parts)}
    return {"role": role, "content": parts}


def _part(part, where: str) -> dict:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "refusal"):
        text = part.get("refusal" if kind == "refusal" else "text")
        if not isinstance(text, str):
            raise InvalidRequest(f"'{where}.text' must be a string.", param=f"{where}.text",
                                 code="invalid_type")
        return {"type": "text", "text": text}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise InvalidRequest(f"'{where}': only images given by 'image_url' can be sent to "
                                 "this model (file ids are OpenAI's own).", param=where,
                                 code="unsupported_value")
        image = {"url": url}
        if part.get("detail") in ("low", "high"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        data = part.get("file_data")
        if not isinstance(data, str) or not data:
            raise InvalidRequest(f"'{where}': only files given by 'file_data' can be sent to "
                                 "this model (file ids and URLs are OpenAI's own).", param=where,
                                 code="unsupported_value")
        return {"type": "file", "file": {"filename": part.get("filename") or "file.pdf",
                                         "file_data": data}}
    raise InvalidRequest(f"Invalid value for '{where}.type': expected input_text, input_image, "
                         "input_file, output_text or refusal.", param=f"{where}.type",
                         code="invalid_value")


def _call(item: dict, where: str) -> dict:
    for name in ("call_id", "name", "arguments"):
        if not isinstance(item.get(name), str):
            raise InvalidRequest(f"'{where}.{name}' must be a string.", param=f"{where}.{name}",
                                 code="invalid_type")
    namespace = item.get("namespace")
    return {"id": item["call_id"], "type": "function",
            "function": {"name": flat_name(namespace, item["name"]),
                         "arguments": item["arguments"]}}


def _add_call(out: list, call: dict) -> None:
    last = out[-1] if out else None
    if last and last["role"] == "assistant" and isinstance(last.get("content"), (str, type(None))):
        last.setdefault("tool_calls", []).append(call)
    else:
        out.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _output(item: dict, where: str) -> dict:
    call_id, output = item.get("call_id"), item.get("output")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest(f"'{where}.call_id' must be a string.", param=f"{where}.call_id",
                             code="invalid_type")
    if isinstance(output, list):
        texts = []
        for j, part in enumerate(output):
            if not isinstance(part, dict) or part.get("type") != "input_text" or \
                    not isinstance(part.get("text"), str):
                raise InvalidRequest(f"'{where}.output[{j}]': only input_text parts are "
                                     "supported in function call outputs for this model.",
                                     param=f"{where}.output[{j}]", code="unsupported_value")
            texts.append(part["text"])
        output = TEXT_JOIN.join(texts)
    if not isinstance(output, str):
        raise InvalidRequest(f"'{where}.output' must be a string or an array of content parts.",
                             param=f"{where}.output", code="invalid_type")
    return {"role": "tool", "tool_call_id": call_id, "content": output}
