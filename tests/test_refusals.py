"""A request the proxy refuses before any upstream call leaves every key as it was."""
import pytest
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini

ANT_KEY = "sk-ant-api03-good0-0123456789abcdefghij"
GEM_KEY = "AIzaSyFake0-0123456789abcdefghijklmnop"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def upstreams():
    fakes = {"anthropic": FakeAnthropic(valid_keys={ANT_KEY}),
             "gemini": FakeGemini(valid_keys={GEM_KEY})}
    yield fakes
    for fake in fakes.values():
        fake.close()


@pytest.mark.parametrize("provider, secret, model, extra, param", [
    ("anthropic", ANT_KEY, "claude-sonnet-4-5", {"n": 2}, "n"),
    ("gemini", GEM_KEY, "gemini-2.5-flash", {"max_tokens": "ten"}, "max_tokens"),
])
def test_a_refused_request_touches_no_key(make_proxy, upstreams, proxy_logs, provider, secret,
                                          model, extra, param):
    # Regression: the 400 counted as a failure of the key ("Failures 1 · bad request"),
    # became its last error, and the request's log line named the key.
    fake = upstreams[provider]
    proxy = make_proxy([{"provider": provider, "model": model, "api_key": secret,
                         "base_url": fake.url}])
    [before] = proxy.admin("GET", "/api/keys").json()["keys"]
    resp = proxy.chat({"model": model, "messages": HI, **extra})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == param
    assert fake.calls == []
    [after] = proxy.admin("GET", "/api/keys").json()["keys"]
    assert after["status"] == "active"
    assert after["stats"] == {**before["stats"], "last_used": after["stats"]["last_used"]}
    assert after["stats"]["requests"] == 0 and after["stats"]["failures"] == 0
    assert after["stats"]["last_error"] is None
    assert not [line for line in proxy_logs if before["id"] in line]
    # The key serves the next request as usual.
    assert proxy.chat({"model": model, "messages": HI}).status_code == 200
    [served] = proxy.admin("GET", "/api/keys").json()["keys"]
    assert served["stats"]["requests"] == 1 and served["stats"]["successes"] == 1
