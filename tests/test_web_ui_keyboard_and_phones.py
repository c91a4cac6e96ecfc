"""The key management page in Chromium: the keyboard alone, phones, escaping, nothing from outside."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from conftest import good_key, key_entry
from web_page import PHONE, adding, api_keys, row, shot, sign_in


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
