"""OpenAI's Chat Completions format, shared by OpenAI, DeepSeek, xAI Grok and compatibles.

The client already speaks this format, so the body passes through as received; only
streams are touched, to ask for the usage chunk that key statistics need.
"""
from __future__ import annotations

import json
import re
from typing import Iterator

from ...errors import AUTH, InvalidRequest, UpstreamError
from ..model_names import renamed, with_model
from ..base import (Adapter, ChatRequest, Completion, SSEEvent, StreamBroken, StreamState,
                    UpstreamRequest, _json_or_none, clean_message)

# Providers documenting `stream_options.include_usage` (OpenAI, DeepSeek, xAI, Azure).
# Generic compatible servers are left alone: some reject fields they do not know.
STREAM_USAGE_PROVIDERS = {"openai", "deepseek", "grok", "azure"}

_NULL_USAGE = re.compile(rb'"usage"\s*:\s*null')
_FINISHED = re.compile(rb'"finish_reason"\s*:\s*"')

# xAI (and some compatibles) answer a bad key with 400 instead of 401.
_BAD_KEY = re.compile(r"(incorrect|invalid|wrong|no such)[^.]{0,40}api[ _-]?key|"
                      r"api[ _-]?key[^.]{0,40}(invalid|incorrect|not valid)", re.I)


class OpenAIAdapter(Adapter):
    def __init__(self, provider: str = "openai"):
        self.provider = provider
        self.inject_usage = provider in STREAM_USAGE_PROVIDERS

    def build_request(self, chat: ChatRequest, key) -> UpstreamRequest:
        body = chat.raw
        ask_usage = chat.stream and self.inject_usage and not chat.include_usage
        if chat.body.get("model") != key.wire_model:  # an alias, or one of fallbacks
            more = {}
            if ask_usage:
                more["stream_options"] = {**(chat.body.get("stream_options") or {}),
                                          "include_usage": True}
            body = with_model(chat.body, key.wire_model, **more)
        elif ask_usage:
            body = _with_stream_usage(chat)
        return UpstreamRequest(
            url=f"{self.base_url(key)}/chat/completions",
            headers={"Authorization": f"Bearer {key.api_key}",
                     "Content-Type": "application/json",
                     "Accept": "text/event-stream" if chat.stream else "application/json"},
            body=body)

    def parse_response(self, chat: ChatRequest, content: bytes) -> Completion:
        payload = json.loads(content)
        if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
            raise ValueError("not a chat.completion object")
        usage = payload.get("usage")
        if chat.answer_model:
            content = renamed(content, chat.answer_model)
        return Completion(body=content, usage=usage if isinstance(usage, dict) else None)

    def iter_chunks(self, chat: ChatRequest, events: Iterator[SSEEvent],
                    state: StreamState) -> Iterator[bytes]:
        strip_usage = self.inject_usage and not chat.include_usage
        started = finished = False
        for event in events:
            data = event.data
            if data == b"[DONE]":
                return
            if not finished and _FINISHED.search(data):
                finished = True
            if event.event == "error" or (b'"error"' in data and _is_error_chunk(data)):
                raise StreamBroken(_stream_error_message(data))
            # With include_usage every chunk carries "usage": null; only the one with
            # numbers is worth decoding (the others pass through as bytes).
            if b'"usage"' in data and not _NULL_USAGE.search(data):
                chunk = _json_or_none(data)
                usage = chunk.get("usage") if isinstance(chunk, dict) else None
                if isinstance(usage, dict):
                    state.usage = usage
                    # The usage-only chunk the proxy asked for; other chunks keep their
                    # harmless "usage": null rather than being re-encoded.
                    if strip_usage and not chunk.get("choices"):
                        continue
            started = True
            yield renamed(data, chat.answer_model) if chat.answer_model else data
        if started and not finished:
            # Cut off without [DONE] and before any finish_reason: the answer is incomplete,
            # and the client must not take it for whole.
            raise StreamBroken("The upstream stream ended before the answer was complete.")

    def probe_request(self, key) -> UpstreamRequest:
        return UpstreamRequest(url=f"{self.base_url(key)}/models", method="GET",
                               headers={"Authorization": f"Bearer {key.api_key}"})

    def parse_error(self, status: int, content: bytes, headers) -> UpstreamError:
        err = super().parse_error(status, content, headers)
        if status == 400 and _BAD_KEY.search(err.message or ""):
            err.failure = AUTH
        return err


def _with_stream_usage(chat: ChatRequest) -> bytes:
    """The client's body asking for the usage chunk, re-encoded only when unavoidable.

    Splicing the option into the raw bytes keeps the body as sent and costs nothing for
    large bodies; re-encoding could also fail on nesting the parser only just accepted.
    """
    raw = chat.raw
    start = len(raw) - len(raw.lstrip())
    if "stream_options" not in chat.body and raw[start:start + 1] == b"{":
        return raw[:start + 1] + b'"stream_options":{"include_usage":true},' + raw[start + 1:]
    options = chat.body.get("stream_options") or {}
    try:
        return json.dumps({**chat.body,
                           "stream_options": {**options, "include_usage": True}}).encode()
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply.",
                             code="invalid_json") from None


def _is_error_chunk(data: bytes) -> bool:
    """An error in place of a chunk: an "error" member (OpenAI, OpenRouter) or a choice
    that finished with "error" (OpenRouter's mid-stream failure)."""
    payload = _json_or_none(data)
    if not isinstance(payload, dict):
        return False
    if payload.get("error"):
        return True
    choices = payload.get("choices")
    return isinstance(choices, list) and any(
        isinstance(c, dict) and c.get("finish_reason") == "error" for c in choices)


def _stream_error_message(data: bytes) -> str:
    payload = _json_or_none(data)
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return clean_message(err["message"])
        if isinstance(err, str):
            return clean_message(err)
    return "The upstream stream reported an error."
