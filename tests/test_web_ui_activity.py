"""The usage and recent-requests views in Chromium: the charts hold the proxy's numbers
(read back from uPlot itself), the records show the keys skipped and why, a key's id leads
to its row, by mouse and keyboard, at desktop and phone width, light and dark."""
from __future__ import annotations

import pytest
from conftest import good_key, id_of, key_entries, key_entry
from fake_openai import error
from playwright.sync_api import expect
from web_page import PHONE, shot, sign_in

ASK = {"model": "gpt-4o", "messages": [{"role": "user", "content": "chart me"}]}

# The chart's series as uPlot holds them: label → the sum of its values.
SERIES = """id => {
  const u = document.getElementById(id).uplot;
  const out = {};
  u.series.forEach((s, i) => { if (i) out[s.label] = u.data[i].reduce((a, b) => a + (b || 0), 0); });
  return out;
}"""


@pytest.fixture
def busy(make_proxy, openai_upstream):
    """gpt-4o on keys 0, 1, 2 (2 disabled), gpt-4o-mini on key 3, after a known mix: a
    failover from rate-limited key 0, a request that skips 2 and 0, and one to the mini."""
    proxy = make_proxy(key_entries(openai_upstream, 3) + [key_entry(openai_upstream, 3,
                                                                    model="gpt-4o-mini")])
    ids = [id_of(proxy, good_key(i)) for i in range(4)]
    assert proxy.admin("PATCH", f"/api/keys/{ids[2]}", {"enabled": False}).status_code == 200
    openai_upstream.fail(good_key(0), error(429, "Rate limit reached", "requests",
                                            headers={"Retry-After": "120"}))
    for body in (ASK, ASK, {**ASK, "model": "gpt-4o-mini"}):
        assert proxy.chat(body).status_code == 200
    return proxy, ids


def usage_totals(proxy) -> dict:
    return proxy.admin("GET", "/api/usage?minutes=60").json()


def test_the_usage_charts_hold_the_proxys_numbers_and_follow_new_requests(busy, web):
    proxy, ids = busy
    page = web.page()
    sign_in(page, proxy)
    page.get_by_role("link", name="Usage").click()
    expect(page.locator("#usage-view")).to_be_visible()
    expect(page.locator("#keys-view")).to_be_hidden()
    page.wait_for_function("document.getElementById('chart-tokens').uplot !== undefined")
    requests = page.evaluate(SERIES, "chart-requests")
    assert requests == {"gpt-4o requests": 2, "gpt-4o errors": 0,
                        "gpt-4o-mini requests": 1, "gpt-4o-mini errors": 0}
    tokens = page.evaluate(SERIES, "chart-tokens")
    usage = usage_totals(proxy)["keys"]
    expected = {k: sum(s["prompt_tokens"]) + sum(s["completion_tokens"]) for k, s in usage.items()}
    assert expected[ids[1]] > 0 and ids[0] in expected
    assert {label.split(" ")[0]: total for label, total in tokens.items()} == expected
    assert f"{ids[1]} (gpt-4o, openai)" in tokens
    # One time value per minute of the hour, the same uPlot draws on its x axis.
    assert page.evaluate("document.getElementById('chart-requests').uplot.data[0].length") == 60
    expect(page.locator("#chart-requests-summary")).to_contain_text("3 requests and 0 errors")
    expect(page.locator("#chart-requests canvas")).to_have_count(1)
    shot(page, "usage-desktop")

    # Live: the next request shows up within a refresh or two, with no reload.
    assert proxy.chat({**ASK, "model": "gpt-4o-mini"}).status_code == 200
    page.wait_for_function(
        """() => { const u = document.getElementById('chart-requests').uplot;
                   const i = u.series.findIndex(s => s.label === 'gpt-4o-mini requests');
                   return u.data[i].reduce((a, b) => a + b, 0) === 2; }""", timeout=15_000)

    page.select_option("#usage-minutes", "15")
    page.wait_for_function("document.getElementById('chart-requests').uplot.data[0].length === 15")


def test_the_requests_view_names_the_skipped_keys_and_links_to_their_rows(busy, web):
    proxy, ids = busy
    page = web.page()
    sign_in(page, proxy)
    page.get_by_role("link", name="Recent requests").click()
    rows = page.locator("#requests-rows tr")
    expect(rows).to_have_count(3)
    newest, skipping, failover = rows.nth(0), rows.nth(1), rows.nth(2)
    expect(newest.locator("td").nth(1)).to_contain_text("gpt-4o-mini")
    expect(failover.locator("td").nth(2)).to_contain_text(f"{ids[0]} rate-limited")
    expect(failover.locator("td").nth(2)).to_contain_text(f"{ids[1]} ok")
    skipped = skipping.locator("td").nth(3)
    expect(skipped.locator("li")).to_have_count(2)
    expect(skipped.locator("li").nth(0)).to_have_text(f"{ids[2]} disabled")
    expect(skipped.locator("li").nth(1)).to_contain_text(f"{ids[0]} cooling down until")
    expect(skipping.locator("td").nth(4)).to_contain_text("200")
    shot(page, "requests-desktop")

    # By keyboard: the cooling key's id leads to its row on the keys view, focused.
    link = skipped.locator(f'a[data-key-link="{ids[0]}"]')
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#keys-view")).to_be_visible()
    expect(page.locator("#requests-view")).to_be_hidden()
    assert page.evaluate("document.activeElement.closest('tbody.key').dataset.keyId") == ids[0]
    # And back, by keyboard too.
    page.locator('a[data-view="requests"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#requests-view")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "requests-title"
    assert page.url.endswith("#requests-view")


def test_a_link_to_a_view_opens_it_and_refreshes_it_live(busy, web):
    proxy, ids = busy
    page = web.page()
    page.goto(f"{proxy.url}/static/index.html#token={proxy.admin_token}&requests-view")
    rows = page.locator("#requests-rows tr")
    expect(rows).to_have_count(3)
    assert "token" not in page.url
    assert proxy.chat(ASK).status_code == 200
    expect(rows).to_have_count(4, timeout=15_000)
    expect(rows.nth(0).locator("td").nth(1)).to_contain_text("gpt-4o")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_width_shows_both_views_without_sideways_scrolling(busy, web, scheme):
    proxy, ids = busy
    page = web.page(viewport=PHONE)
    page.emulate_media(color_scheme=scheme)
    sign_in(page, proxy)
    page.get_by_role("link", name="Usage").click()
    page.wait_for_function("document.getElementById('chart-tokens').uplot !== undefined")
    width = page.evaluate("document.getElementById('chart-requests').uplot.width")
    assert 240 <= width <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    stroke = page.evaluate("""() => { const u = document.getElementById('chart-requests').uplot;
                                      const s = u.axes[0].stroke;
                                      return typeof s === 'function' ? s(u, 0) : s; }""")
    muted = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--muted').trim()")
    assert stroke == muted  # drawn in the scheme's own colours
    assert muted == ("#a3adba" if scheme == "dark" else "#5a6472")
    shot(page, f"usage-phone-{scheme}")
    page.get_by_role("link", name="Recent requests").click()
    expect(page.locator("#requests-rows tr")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, f"requests-phone-{scheme}")
