"""Fake Azure OpenAI resource: OpenAI's chat format at deployment URLs.

Per https://learn.microsoft.com/azure/ai-services/openai/reference: the call is
`/openai/deployments/{deployment}/chat/completions?api-version=...` with the key in the
`api-key` header; a request without a key (or with only a Bearer key) is a 401, an unknown
deployment or a missing api-version a 404 "Resource not found", in Azure's envelope
{"error": {"code": "...", "message": "..."}}. The answers are OpenAI's.
"""
from __future__ import annotations

import re
from dataclasses import replace

from fake_openai import FakeOpenAI
from fake_upstream import Call, Reply

_DEPLOYMENT = re.compile(r"/openai/deployments/([^/]+)/chat/completions")


def azure_error(status: int, message: str) -> Reply:
    return Reply(status, {"error": {"code": str(status), "message": message}})


class FakeAzure(FakeOpenAI):
    """A resource with the deployments in `deployments`, accepting `valid_keys`."""

    def __init__(self, valid_keys=(), deployments=("gpt-4o",)):
        self.deployments = set(deployments)
        super().__init__(valid_keys)

    @property
    def base_url(self) -> str:
        return self.url  # the resource endpoint: paths start at /openai

    def key_of(self, call: Call) -> str | None:
        return call.headers.get("api-key")

    def handle(self, call: Call):
        if call.key not in self.valid_keys:
            return azure_error(401, "Access denied due to invalid subscription key or wrong "
                                    "API endpoint. Make sure to provide a valid key for an "
                                    "active subscription and use a correct regional API "
                                    "endpoint for your resource.")
        if not call.query.get("api-version"):
            return azure_error(404, "Resource not found")
        if call.path == "/openai/models" and call.method == "GET":
            return Reply(200, {"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]})
        match = _DEPLOYMENT.fullmatch(call.path)
        if match is None or match.group(1) not in self.deployments:
            return azure_error(404, "The API deployment for this resource does not exist.")
        # Past the URL and the key it is OpenAI's chat API (the recorded call stays as sent).
        as_openai = replace(call, path=f"{self.prefix}/chat/completions",
                            headers={**call.headers, "authorization": f"Bearer {call.key}"})
        return super().handle(as_openai)
