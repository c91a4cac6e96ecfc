"""The page's routing fields: set when adding a key, shown and changed when editing one."""
from __future__ import annotations

from playwright.sync_api import expect

from conftest import good_key, key_entry
from web_page import adding, api_keys, ask, row, secrets_in_page, sign_in


def test_add_a_key_with_routing_fields_then_edit_and_clear_them(make_proxy, openai_upstream,
                                                                web):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    page = web.page()
    sign_in(page, proxy)

    form = adding(page)
    form.get_by_label("Provider").select_option("openai")
    form.get_by_label("Model").fill("smart")
    form.get_by_label("API key").fill(good_key(1))
    form.get_by_label("Base URL").fill(openai_upstream.base_url)
    page.locator("#add-routing summary").click()
    form.get_by_label("Sent upstream as").fill("gpt-4o")
    form.get_by_label("Requests per minute").fill("0")
    page.get_by_role("button", name="Add key", exact=True).click()
    # The API's 400 names the field, and the page puts it beside that field.
    expect(page.locator("#add-rpm-error")).to_contain_text(
        "Requests per minute must be a whole number")
    assert len(api_keys(proxy)) == 1
    form.get_by_label("Requests per minute").fill("30")
    form.get_by_label("Quota group").fill("org-a")
    page.get_by_role("button", name="Add key", exact=True).click()
    expect(page.locator("#add-message")).to_contain_text("to smart")
    added = next(k for k in api_keys(proxy) if k["model"] == "smart")
    assert (added["upstream_model"], added["rpm"], added["quota_group"]) == \
        ("gpt-4o", 30, "org-a")
    ask(proxy, "smart")
    assert openai_upstream.calls[-1].body["model"] == "gpt-4o"

    new = row(page, added["id"])
    new.get_by_role("button", name="Edit").click()
    edit = new.locator(".edit-form")
    expect(edit.get_by_label("Sent upstream as")).to_have_value("gpt-4o")
    expect(edit.get_by_label("Requests per minute")).to_have_value("30")
    expect(edit.get_by_label("Quota group")).to_have_value("org-a")
    edit.get_by_label("Requests per minute").fill("")
    edit.get_by_label("Quota group").fill("org-b")
    edit.get_by_role("button", name="Save changes").click()
    expect(new.locator(".row-message")).to_contain_text(
        "Saved the new requests per minute, quota group")
    edited = next(k for k in api_keys(proxy) if k["id"] == added["id"])
    assert (edited["upstream_model"], edited["rpm"], edited["quota_group"]) == \
        ("gpt-4o", None, "org-b")
    assert secrets_in_page(page, [good_key(0), good_key(1)]) == []
