"""The key management page in Chromium: errors beside their cause, live statuses, the LLM_KEYS copy."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from conftest import good_key, key_entry
from fake_openai import error
from web_page import MASKED, PHONE, adding, api_keys, ask, row, shot, sign_in


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
