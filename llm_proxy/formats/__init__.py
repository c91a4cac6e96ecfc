"""Client formats: which one the current request speaks, for the one error renderer."""
from __future__ import annotations

from flask import g, has_app_context

from .base import ClientFormat


def use(client: ClientFormat) -> None:
    """Answer the current request's errors in `client`'s envelope."""
    g.client_format = client


def current() -> ClientFormat:
    """The current request's format; OpenAI's where no route chose one (unknown paths)."""
    client = g.get("client_format") if has_app_context() else None
    if client is None:
        from .openai_chat import CHAT
        return CHAT
    return client
