"""The key management page in Chromium: signing in, then adding, editing, testing and deleting keys."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from conftest import good_key, key_entry
from web_page import MASKED, adding, api_keys, ask, row, secrets_in_page, shot, sign_in


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
