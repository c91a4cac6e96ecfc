"""The key management page in headless Chromium: the browser the web UI tests drive, and
what they read and do on the page."""
from __future__ import annotations

import os
import re

from playwright.sync_api import expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "artifacts", "screenshots")
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
MASKED = "sk-g…cdef"  # what every good_key(i) looks like once masked

expect.set_options(timeout=10_000)  # longer than the page's 5 s refresh


class Browser:
    """Opens pages in fresh contexts; records script errors and any request leaving 127.0.0.1."""

    def __init__(self, chromium):
        self.chromium = chromium
        self.contexts = []
        self.script_errors: list[str] = []
        self.outside_requests: list[str] = []

    def page(self, viewport=DESKTOP, permissions=()):
        context = self.chromium.new_context(viewport=viewport, locale="en-US",
                                            permissions=list(permissions))
        context.set_default_timeout(10_000)
        context.route(re.compile(r"^(?!http://127\.0\.0\.1:\d+/)"), self._block)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.script_errors.append(str(exc)))
        return page

    def _block(self, route):
        self.outside_requests.append(route.request.url)
        route.abort()

    def close(self):
        for context in self.contexts:
            context.close()


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def sign_in(page, proxy):
    page.goto(f"{proxy.url}/static/index.html#token={proxy.admin_token}")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#add-provider option")).not_to_have_count(0)


def adding(page):
    """The form that adds one key."""
    return page.locator("#add-form")


def row(page, key_id: str):
    return page.locator(f'tbody.key[data-key-id="{key_id}"]')


def api_keys(proxy) -> list[dict]:
    reply = proxy.admin("GET", "/api/keys")
    assert reply.status_code == 200
    return reply.json()["keys"]


def ask(proxy, model: str = "gpt-4o"):
    reply = proxy.chat({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code == 200, reply.text
    return reply


def secrets_in_page(page, secrets) -> list[str]:
    """Secrets found in the markup or in any form field's current value."""
    text = page.content() + "\n".join(page.eval_on_selector_all(
        "input, textarea", "nodes => nodes.map(n => n.value)"))
    return [s for s in secrets if s in text]
