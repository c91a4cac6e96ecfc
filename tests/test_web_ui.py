"""The key management page, driven in headless Chromium against the real proxy and a fake upstream."""
from __future__ import annotations

import json
import os
import re
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import good_key, key_entry
from fake_openai import error

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "artifacts", "screenshots")
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
MASKED = "sk-g…cdef"  # what every good_key(i) looks like once masked

expect.set_options(timeout=10_000)  # longer than the page's 5 s refresh


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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


@pytest.fixture
def web(browser):
    """A Browser for one test; afterwards, no script error and nothing fetched from outside."""
    opened = Browser(browser)
    yield opened
    opened.close()
    assert opened.script_errors == []
    assert opened.outside_requests == []


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


# ------------------------------------------------------------------------- signing in

def test_link_signs_in_and_leaves_the_address_bar(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    page = web.page()
    page.goto(f"{proxy.url}/#token={proxy.admin_token}")  # "/" redirects to the page

    expect(page.locator("#app")).to_be_visible()
    assert page.url == f"{proxy.url}/static/index.html"
    assert page.evaluate("sessionStorage.getItem('llm-proxy.admin-token')") == proxy.admin_token
    key_id = api_keys(proxy)[0]["id"]
    expect(row(page, key_id).locator(".masked")).to_have_text(MASKED)
    expect(row(page, key_id).locator(".badge")).to_have_text("Active")
    expect(page.locator("#memory-note")).to_contain_text("live in memory only")
    expect(page.locator("#memory-note")).to_contain_text("LLM_KEYS")
    assert secrets_in_page(page, [good_key(0)]) == []
    shot(page, "01-signed-in-desktop")

    page.reload()  # the token survives a reload in the tab's sessionStorage
    expect(row(page, key_id)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('llm-proxy.admin-token')") is None


def test_wrong_token_gets_a_clear_message_then_the_form_signs_in(make_proxy, web):
    proxy = make_proxy([])
    page = web.page()
    page.goto(f"{proxy.url}/static/index.html#token=not-the-token")

    expect(page.locator("#signin-error")).to_be_visible()
    expect(page.locator("#signin-error")).to_contain_text("refused the token in this link")
    expect(page.locator("#app")).to_be_hidden()
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('llm-proxy.admin-token')") is None
    shot(page, "02-wrong-token")

    page.get_by_label("Admin token").fill("still-wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("refused this admin token")

    page.get_by_label("Admin token").fill(proxy.admin_token)
    page.get_by_label("Admin token").press("Enter")
    expect(page.locator("#empty")).to_contain_text("No keys yet")
    expect(page.locator("#signin")).to_be_hidden()


def test_a_saved_token_the_proxy_no_longer_accepts_asks_to_sign_in_again(make_proxy, web):
    proxy = make_proxy([])
    page = web.page()
    page.goto(f"{proxy.url}/static/index.html")
    expect(page.locator("#signin")).to_be_visible()
    page.evaluate("sessionStorage.setItem('llm-proxy.admin-token', 'from-a-previous-run')")
    page.reload()
    expect(page.locator("#signin-error")).to_contain_text("no longer accepts the saved token")


def test_a_token_refused_mid_session_brings_back_the_sign_in(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    page = web.page()
    sign_in(page, proxy)
    proxy.config.admin_token = "token-of-the-next-start"  # as after a restart without ADMIN_TOKEN

    expect(page.locator("#signin-error")).to_contain_text("stopped accepting the admin token",
                                                          timeout=8000)
    expect(page.locator("#app")).to_be_hidden()
    assert page.locator("tbody.key").count() == 0  # nothing of the old session stays on screen
    assert page.evaluate("sessionStorage.getItem('llm-proxy.admin-token')") is None
    page.get_by_label("Admin token").fill("token-of-the-next-start")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("tbody.key")).to_have_count(1)


# ------------------------------------------------------------------------- one key, end to end

def test_add_edit_disable_test_and_delete_one_key(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    page = web.page()
    sign_in(page, proxy)

    # Add
    adding(page).get_by_label("Provider").select_option("openai")
    adding(page).get_by_label("Model").fill("gpt-4o")
    adding(page).get_by_label("API key").fill(good_key(1))
    adding(page).get_by_label("Base URL").fill(openai_upstream.base_url)
    page.get_by_role("button", name="Add key", exact=True).click()
    expect(page.locator("#add-message")).to_contain_text(f"Added {MASKED} to gpt-4o")
    expect(adding(page).get_by_label("API key")).to_have_value("")
    added = next(k for k in api_keys(proxy) if k["source"] == "api")
    assert added["base_url"] == openai_upstream.base_url
    new = row(page, added["id"])
    expect(new.locator(".masked")).to_have_text(MASKED)
    expect(new.locator(".origin")).to_contain_text("added here")
    assert secrets_in_page(page, [good_key(0), good_key(1)]) == []

    # Edit: replace the secret; the next requests carry the new one
    new.get_by_role("button", name="Edit").click()
    edit = new.locator(".edit-form")
    expect(edit).to_be_visible()
    expect(edit.get_by_label("Model")).to_have_value("gpt-4o")
    edit.get_by_label("New API key").fill(good_key(2))
    shot(page, "03-edit-form")
    edit.get_by_role("button", name="Save changes").click()
    expect(edit).to_be_hidden()
    expect(new.locator(".row-message")).to_contain_text("Saved the new API key")
    assert secrets_in_page(page, [good_key(1), good_key(2)]) == []
    for _ in range(4):
        ask(proxy)
    used = openai_upstream.keys_used("/chat/completions")
    assert used.count(good_key(2)) == 2 and good_key(1) not in used

    # Disable: chat requests skip it
    new.get_by_role("button", name="Disable").click()
    expect(new.locator(".badge")).to_have_text("Disabled")
    expect(new.get_by_role("button", name="Enable")).to_be_visible()
    assert next(k for k in api_keys(proxy) if k["id"] == added["id"])["enabled"] is False
    before = len(openai_upstream.keys_used("/chat/completions"))
    for _ in range(3):
        ask(proxy)
    assert openai_upstream.keys_used("/chat/completions")[before:] == [good_key(0)] * 3
    expect(row(page, api_keys(proxy)[0]["id"]).locator(".col-requests")).to_have_text("5")
    shot(page, "04-disabled-key")

    # Test: the provider is asked with the key's secret
    new.get_by_role("button", name="Test").click()
    expect(new.locator(".row-message")).to_contain_text("The provider accepted this key (HTTP 200)")
    assert openai_upstream.keys_used("/models")[-1] == good_key(2)

    # Enable again, then delete with confirmation
    new.get_by_role("button", name="Enable").click()
    expect(new.locator(".badge")).to_have_text("Active")
    new.get_by_role("button", name="Delete").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"The key {MASKED} (OpenAI) leaves the pool of model gpt-4o")
    shot(page, "05-delete-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(new).to_be_visible()
    assert len(api_keys(proxy)) == 2

    new.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete key").click()
    expect(new).to_have_count(0)
    expect(page.locator("#announce")).to_contain_text(f"Deleted the key {MASKED} of gpt-4o")
    assert [k["source"] for k in api_keys(proxy)] == ["env"]


def test_a_failed_key_test_says_why_and_marks_it_invalid(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    key_id = api_keys(proxy)[0]["id"]
    openai_upstream.valid_keys.discard(good_key(0))  # the provider revoked it
    page = web.page()
    sign_in(page, proxy)

    row(page, key_id).get_by_role("button", name="Test").click()
    message = row(page, key_id).locator(".row-message")
    expect(message).to_contain_text("The test failed (HTTP 401): Incorrect API key provided")
    expect(message).to_contain_text("now marked invalid")
    expect(row(page, key_id).locator(".badge")).to_have_text("Invalid")

    openai_upstream.valid_keys.add(good_key(0))
    row(page, key_id).get_by_role("button", name="Mark as valid").click()
    expect(row(page, key_id).locator(".badge")).to_have_text("Active")
    expect(row(page, key_id).get_by_role("button", name="Mark as valid")).to_be_hidden()


# ------------------------------------------------------------------------- many keys at once

PASTED_LINES = """\
# two keys for gpt-4o, one for a second model behind another endpoint
openai,gpt-4o,{k1}
openai,gpt-4o,{k2},{url}

openai-compatible,llama-3.1-70b,{k3},{url}
"""


@pytest.mark.parametrize("form", ["lines", "json"])
def test_paste_three_keys_at_once(make_proxy, openai_upstream, web, form):
    proxy = make_proxy([])
    page = web.page()
    sign_in(page, proxy)
    url = openai_upstream.base_url
    if form == "lines":
        text = PASTED_LINES.format(k1=good_key(1), k2=good_key(2), k3=good_key(3), url=url)
    else:
        text = json.dumps([key_entry(openai_upstream, 1), key_entry(openai_upstream, 2),
                           {"provider": "openai-compatible", "model": "llama-3.1-70b",
                            "api_key": good_key(3), "base_url": url}], indent=2)

    page.get_by_role("tab", name="Paste many").click()
    page.get_by_label("Keys to add").fill(text)
    shot(page, f"06-paste-{form}")
    page.get_by_role("button", name="Add keys", exact=True).click()

    expect(page.locator("#bulk-message")).to_contain_text("Added 3 keys: gpt-4o (2), llama-3.1-70b (1)")
    expect(page.get_by_label("Keys to add")).to_have_value("")
    keys = api_keys(proxy)
    assert sorted((k["provider"], k["model"]) for k in keys) == [
        ("openai", "gpt-4o"), ("openai", "gpt-4o"), ("openai-compatible", "llama-3.1-70b")]
    assert sum(k["base_url"] == url for k in keys) == (2 if form == "lines" else 3)
    expect(page.locator("section.group .group-model")).to_have_text(["gpt-4o", "llama-3.1-70b"])
    expect(page.locator("tbody.key")).to_have_count(3)
    assert secrets_in_page(page, [good_key(i) for i in (1, 2, 3)]) == []
    shot(page, f"07-pasted-{form}")


def test_a_bad_pasted_line_is_named_and_nothing_is_added(make_proxy, web):
    proxy = make_proxy([])
    page = web.page()
    sign_in(page, proxy)
    page.get_by_role("tab", name="Paste many").click()
    box = page.get_by_label("Keys to add")
    submit = page.get_by_role("button", name="Add keys", exact=True)
    message = page.locator("#bulk-message")

    box.fill(f"openai,gpt-4o,{good_key(1)}\nopenai,gpt-4o")
    submit.click()
    expect(message).to_have_text(re.compile(r"Line 2: expected provider,model,key .* found 2"))

    box.fill(f"openai,gpt-4o,{good_key(1)}\n\nopenia,gpt-4o,{good_key(2)}")
    submit.click()
    expect(message).to_contain_text("Line 3: Provider must be one of openai")
    expect(message).to_contain_text("Nothing was added.")
    expect(box).to_have_attribute("aria-invalid", "true")

    box.fill('[{"provider": "openai", "model": "gpt-4o", "api_key": "sk-secret-in-bad-json" ')
    submit.click()
    expect(message).to_contain_text("This is not valid JSON")
    expect(message).not_to_contain_text("sk-secret")
    shot(page, "08-paste-error")
    assert api_keys(proxy) == []


# ------------------------------------------------------------------------- errors next to their cause

def test_api_errors_are_shown_beside_the_field_that_caused_them(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    page = web.page()
    sign_in(page, proxy)
    adding(page).get_by_label("Model").fill("gpt-4o")
    adding(page).get_by_label("API key").fill(good_key(5))
    adding(page).get_by_label("Base URL").fill("ftp://files.example")
    page.get_by_role("button", name="Add key", exact=True).click()

    expect(page.locator("#add-base-url-error")).to_have_text("Base URL must be an http:// or https:// URL.")
    expect(adding(page).get_by_label("Base URL")).to_have_attribute("aria-invalid", "true")
    expect(adding(page).get_by_label("Base URL")).to_be_focused()
    expect(adding(page).get_by_label("API key")).to_have_value(good_key(5))  # nothing saved: keep it to fix the URL
    shot(page, "09-field-error")

    # The same key again: 409, shown beside the key field
    adding(page).get_by_label("Base URL").fill(openai_upstream.base_url)
    adding(page).get_by_label("API key").fill(good_key(0))
    page.get_by_role("button", name="Add key", exact=True).click()
    expect(page.locator("#add-key-error")).to_contain_text("already exists")
    expect(page.locator("#add-base-url-error")).to_be_hidden()
    assert len(api_keys(proxy)) == 1

    # An openai-compatible key needs a base URL
    adding(page).get_by_label("Provider").select_option("openai-compatible")
    expect(page.locator('label[for="add-base-url"]')).to_contain_text("(required)")
    adding(page).get_by_label("Base URL").fill("")
    adding(page).get_by_label("API key").fill(good_key(6))
    page.get_by_role("button", name="Add key", exact=True).click()
    expect(page.locator("#add-base-url-error")).to_have_text(
        "Base URL is required for provider openai-compatible.")


def test_an_action_on_a_key_deleted_elsewhere_says_so_on_its_row(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1)])
    gone = api_keys(proxy)[1]["id"]
    page = web.page()
    sign_in(page, proxy)
    assert proxy.admin("DELETE", f"/api/keys/{gone}").status_code == 204

    row(page, gone).get_by_role("button", name="Disable").click(timeout=2000)
    expect(row(page, gone).locator(".row-message")).to_have_text(
        re.compile("This key no longer exists"), timeout=2000)
    expect(row(page, gone)).to_have_count(0, timeout=8000)  # the next refresh drops the row


def test_an_edit_error_is_shown_in_the_edit_form(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    key_id = api_keys(proxy)[0]["id"]
    page = web.page()
    sign_in(page, proxy)
    row(page, key_id).get_by_role("button", name="Edit").click()
    form = row(page, key_id).locator(".edit-form")
    form.get_by_label("Base URL").fill("ftp://files.example")
    form.get_by_role("button", name="Save changes").click()
    expect(form.locator(".field-error").nth(2)).to_have_text("Base URL must be an http:// or https:// URL.")
    expect(form).to_be_visible()
    assert api_keys(proxy)[0]["base_url"] == openai_upstream.base_url


# ------------------------------------------------------------------------- live status

def test_statuses_are_shown_in_colour_and_words(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1),
                        key_entry(openai_upstream, 2, model="gpt-4o-mini"),
                        key_entry(openai_upstream, 3, model="gpt-4o-mini")])
    ids = [k["id"] for k in api_keys(proxy)]
    openai_upstream.fail(good_key(0), error(
        429, "Rate limit reached for gpt-4o on requests per min (RPM): Limit 3, Used 3, "
             "Requested 1.", type_="requests", code="rate_limit_exceeded",
        headers={"Retry-After": "120"}))
    openai_upstream.valid_keys.discard(good_key(2))
    ask(proxy, "gpt-4o")        # key 0 is rate-limited, key 1 answers
    ask(proxy, "gpt-4o-mini")   # key 2 is refused, key 3 answers
    assert proxy.admin("PATCH", f"/api/keys/{ids[3]}", {"enabled": False}).status_code == 200

    page = web.page()
    sign_in(page, proxy)
    badges = {i: row(page, i).locator(".badge") for i in ids}
    expect(badges[ids[0]]).to_have_text("Cooling down")
    expect(row(page, ids[0]).locator(".status-detail")).to_have_text(
        re.compile(r"^(2 min|1 min \d+ s) left$"))
    expect(badges[ids[1]]).to_have_text("Active")
    expect(badges[ids[2]]).to_have_text("Invalid")
    expect(badges[ids[3]]).to_have_text("Disabled")
    colours = {badges[i].evaluate("n => getComputedStyle(n).backgroundColor") for i in ids}
    assert len(colours) == 4
    expect(row(page, ids[0]).locator(".col-last_error")).to_contain_text("Rate limit reached")
    expect(row(page, ids[2]).locator(".col-last_error")).to_contain_text("Incorrect API key")
    expect(row(page, ids[0]).locator(".col-failures")).to_contain_text("rate-limited 1")
    expect(row(page, ids[1]).locator(".col-tokens")).to_contain_text("11 in · 5 out")
    expect(row(page, ids[1]).locator(".col-last_used")).to_have_text(re.compile(r"just now|\d+ s ago"))
    expect(page.locator("#summary")).to_contain_text("4 keys for 2 models")
    expect(page.locator(".group-title").first).to_contain_text("2 keys · 1 active")
    shot(page, "10-statuses-desktop")

    page.get_by_label("Filter").fill("invalid")
    expect(page.locator("tbody.key:visible")).to_have_count(1)
    expect(row(page, ids[2])).to_be_visible()
    expect(page.locator("section.group:visible .group-model")).to_have_text(["gpt-4o-mini"])
    page.get_by_label("Filter").fill("no such key")
    expect(page.locator("#empty-filter")).to_have_text("No key matches “no such key”.")
    page.get_by_label("Filter").fill("")
    expect(page.locator("tbody.key:visible")).to_have_count(4)

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for i in ids:
        expect(row(page, i).get_by_role("button", name="Delete")).to_be_visible()
    shot(page, "11-statuses-phone")


def test_refresh_keeps_what_the_user_is_typing(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    key_id = api_keys(proxy)[0]["id"]
    page = web.page()
    sign_in(page, proxy)
    page.get_by_label("Filter").fill("gpt")
    adding(page).get_by_label("Model").fill("half-typed-model")
    row(page, key_id).get_by_role("button", name="Edit").click()
    edit_model = row(page, key_id).locator(".edit-form").get_by_label("Model")
    edit_model.fill("gpt-4o-renamed")
    edit_model.press("End")

    # Changes made elsewhere appear on the next refresh...
    ask(proxy)
    reply = proxy.admin("POST", "/api/keys", key_entry(openai_upstream, 1))
    assert reply.status_code == 201
    expect(row(page, reply.json()["id"])).to_be_visible(timeout=8000)
    expect(row(page, key_id).locator(".col-requests")).to_have_text("1")

    # ...and leave what the user was typing, and the focus, where they were.
    expect(edit_model).to_be_focused()
    expect(edit_model).to_have_value("gpt-4o-renamed")
    expect(adding(page).get_by_label("Model")).to_have_value("half-typed-model")
    expect(page.get_by_label("Filter")).to_have_value("gpt")
    page.keyboard.type("-2")
    expect(edit_model).to_have_value("gpt-4o-renamed-2")


def test_unreachable_proxy_is_reported_and_the_list_kept(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    key_id = api_keys(proxy)[0]["id"]
    page = web.page()
    sign_in(page, proxy)
    page.context.route(re.compile(r".*/api/keys$"), lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#connection-error")).to_contain_text("the proxy could not be reached")
    expect(page.locator("#refresh-state")).to_have_text("Not updating")
    expect(row(page, key_id)).to_be_visible()
    page.context.unroute(re.compile(r".*/api/keys$"))
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#connection-error")).to_be_hidden()


# ------------------------------------------------------------------------- LLM_KEYS skeleton

def test_copy_button_puts_an_llm_keys_skeleton_on_the_clipboard(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0),
                        {"provider": "anthropic", "model": "claude-sonnet-4-5",
                         "api_key": "sk-ant-api03-abcdefghijklmnop"}])
    anthropic_id = api_keys(proxy)[1]["id"]
    assert proxy.admin("PATCH", f"/api/keys/{anthropic_id}", {"enabled": False}).status_code == 200
    page = web.page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, proxy)

    page.get_by_role("button", name="Copy LLM_KEYS skeleton").click()
    expect(page.locator("#copy-result")).to_contain_text("Copied 2 entries")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert good_key(0) not in copied and "sk-ant-api03-abcdefghijklmnop" not in copied
    assert json.loads(copied) == [
        {"provider": "openai", "model": "gpt-4o", "api_key": f"<paste the key {MASKED} here>",
         "base_url": openai_upstream.base_url},
        {"provider": "anthropic", "model": "claude-sonnet-4-5",
         "api_key": "<paste the key sk-a…mnop here>", "enabled": False}]
    shot(page, "12-copied-skeleton")


# ------------------------------------------------------------------------- keyboard, phone, escaping

def test_keyboard_alone_adds_and_deletes_a_key(make_proxy, openai_upstream, web):
    proxy = make_proxy([])
    page = web.page()
    sign_in(page, proxy)
    adding(page).get_by_label("Provider").focus()
    page.keyboard.press("Tab")
    page.keyboard.type("gpt-4o")
    page.keyboard.press("Tab")
    page.keyboard.type(good_key(1))
    page.keyboard.press("Tab")  # the Show button
    page.keyboard.press("Tab")
    page.keyboard.type(openai_upstream.base_url)
    page.keyboard.press("Enter")
    expect(page.locator("#add-message")).to_contain_text("Added")
    key_id = api_keys(proxy)[0]["id"]

    edit = row(page, key_id).get_by_role("button", name="Edit")
    edit.focus()
    page.keyboard.press("Enter")
    expect(row(page, key_id).locator(".edit-form").get_by_label("Model")).to_be_focused()
    page.keyboard.press("Escape")
    expect(row(page, key_id).locator(".edit-form")).to_be_hidden()
    expect(edit).to_be_focused()

    delete = row(page, key_id).get_by_role("button", name="Delete")
    delete.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#delete-cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#delete-dialog")).to_be_hidden()
    expect(delete).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#delete-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row(page, key_id)).to_have_count(0)
    assert api_keys(proxy) == []

    tab_one = page.get_by_role("tab", name="One key")
    tab_one.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Paste many")).to_be_focused()
    expect(page.get_by_label("Keys to add")).to_be_visible()


def test_a_late_close_event_does_not_answer_the_reopened_delete_dialog(make_proxy, openai_upstream, web):
    # The dialog's "close" event is dispatched from a queued task. A quick Escape then Enter
    # (or Cancel then another Delete) reopens the dialog before the first closing's event
    # arrives; that event must not be taken as the answer to the new question.
    proxy = make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1)])
    kept, gone = (k["id"] for k in api_keys(proxy))
    page = web.page()
    sign_in(page, proxy)
    row(page, kept).get_by_role("button", name="Delete").click()
    expect(page.locator("#delete-cancel")).to_be_focused()
    page.evaluate("""([kept, gone]) => {
        document.getElementById("delete-cancel").click();
        document.querySelector(`tbody.key[data-key-id="${gone}"] button.btn-danger-quiet`).click();
        if (!document.getElementById("delete-dialog").open) throw new Error("not reopened");
    }""", [kept, gone])
    expect(page.locator("#delete-cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#delete-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row(page, gone)).to_have_count(0)
    expect(row(page, kept)).to_have_count(1)
    assert [k["id"] for k in api_keys(proxy)] == [kept]


def test_phone_width_add_a_key(make_proxy, openai_upstream, web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    page = web.page(viewport=PHONE)
    sign_in(page, proxy)
    shot(page, "13-phone-signed-in")
    adding(page).get_by_label("Model").fill("gpt-4o")
    adding(page).get_by_label("API key").fill(good_key(1))
    adding(page).get_by_label("Base URL").fill(openai_upstream.base_url)
    page.get_by_role("button", name="Add key", exact=True).click()
    expect(page.locator("tbody.key")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    added = next(k for k in api_keys(proxy) if k["source"] == "api")
    row(page, added["id"]).get_by_role("button", name="Edit").click()
    shot(page, "14-phone-edit")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("width", [320, 375, 414])
def test_small_phones_show_key_cards_without_sideways_scrolling(make_proxy, openai_upstream,
                                                                web, width):
    proxy = make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1)])
    page = web.page(viewport={"width": width, "height": 800})
    sign_in(page, proxy)
    expect(page.locator("tbody.key")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Inside the keys' card too: no cell wider than the card.
    assert page.evaluate("(() => { const t = document.querySelector('.table-wrap');"
                         " return t.scrollWidth <= t.clientWidth; })()")


def test_text_from_the_api_is_shown_as_text_never_markup(make_proxy, openai_upstream, web):
    model = '<img src=x onerror="window.injected=1">'
    proxy = make_proxy([key_entry(openai_upstream, 0, model=model)])
    page = web.page()
    sign_in(page, proxy)
    expect(page.locator(".group-model")).to_have_text(model)
    assert page.locator("#groups img").count() == 0
    assert page.evaluate("window.injected") is None


def test_page_needs_nothing_from_outside(make_proxy, web):
    proxy = make_proxy([])
    page = web.page()
    fetched = []
    page.on("requestfinished", lambda request: fetched.append(request.url))
    sign_in(page, proxy)
    time.sleep(0.2)
    assert {u.rsplit("/", 1)[-1] for u in fetched if "/static/" in u} >= {
        "index.html", "app.js", "app.css"}
    assert all(u.startswith(proxy.url) for u in fetched)
    # `web` asserts after the test that no request left 127.0.0.1
