"""Admin API changes while 100 chat requests run: none fails, none uses a key once it is gone."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import HELLO, good_key, key_entries, key_entry, sse_data
from fake_openai import FakeOpenAI
from fake_upstream import Reply, Stream


class TaggingOpenAI(FakeOpenAI):
    """FakeOpenAI that says, in `system_fingerprint`, which key served, after a pause."""

    def __init__(self, tags: dict, delay: float):
        super().__init__(valid_keys=set(tags))
        self.tags, self.delay = tags, delay

    def handle(self, call):
        answer = super().handle(call)
        tag = f"fp_{self.tags.get(call.key, 'none')}".encode()
        if isinstance(answer, Reply) and answer.status == 200:
            answer.body["system_fingerprint"] = tag.decode()
            answer.delay = self.delay
        elif isinstance(answer, Stream):
            answer.events = [e.replace(b'"fp_fake"', b'"' + tag + b'"') for e in answer.events]
            answer.first_delay = self.delay
        return answer


def test_changes_while_100_requests_run(make_proxy):
    """No request fails because of a change; none starting after a delete uses that key."""
    tags = {good_key(i): name for i, name in enumerate("ABCD")}
    upstream = TaggingOpenAI(tags, delay=0.15)
    try:
        proxy = make_proxy(key_entries(upstream, 3))
        ids = {tags[k.api_key]: k.id for k in proxy.pool.keys()}
        results = [None] * 100
        t0 = time.monotonic()

        def one(i):
            time.sleep(max(0.0, t0 + i * 0.012 - time.monotonic()))
            started = time.monotonic()
            stream = i % 3 == 0
            resp = proxy.http.post(proxy.base + "/chat/completions",
                                   json={**HELLO, "stream": stream}, timeout=30)
            if stream:
                payloads = [json.loads(data) for data in sse_data(resp) if data.startswith(b"{")]
                fingerprint = payloads[0]["system_fingerprint"] if payloads else None
                complete = resp.text.rstrip().endswith("data: [DONE]")
            else:
                fingerprint = resp.json().get("system_fingerprint")
                complete = bool(resp.json().get("choices"))
            results[i] = (started, time.monotonic(), resp.status_code, complete,
                          (fingerprint or "")[3:])

        changes = {}

        def change(at, name, method, path, body=None, expect=200):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            resp = proxy.admin(method, path, body)
            assert resp.status_code == expect, resp.text
            changes[name] = time.monotonic()
            return resp

        with ThreadPoolExecutor(max_workers=100) as pool:
            futures = [pool.submit(one, i) for i in range(100)]
            change(0.3, "delete A", "DELETE", f"/api/keys/{ids['A']}", expect=204)
            added = change(0.5, "add D", "POST", "/api/keys", key_entry(upstream, 3), expect=201)
            change(0.7, "disable B", "PATCH", f"/api/keys/{ids['B']}", {"enabled": False})
            change(0.9, "delete C", "DELETE", "/api/keys",
                   {"provider": "openai", "model": "gpt-4o", "api_key": good_key(2)})
            for future in futures:
                future.result()
        assert added.json()["status"] == "active"
    finally:
        upstream.close()

    assert all(r[2] == 200 and r[3] for r in results), [r for r in results if r[2] != 200]
    for name, key in (("delete A", "A"), ("disable B", "B"), ("delete C", "C")):
        after = [r for r in results if r[0] > changes[name]]
        assert after and all(r[4] != key for r in after), name
    # Requests were in flight on a key while it was deleted, and still succeeded.
    assert any(r[4] == "A" and r[1] > changes["delete A"] for r in results)
    # The key added mid-run served requests right away.
    assert any(r[4] == "D" and r[0] > changes["add D"] for r in results)
    assert all(r[4] == "D" for r in results if r[0] > changes["delete C"])
