"""A key check that ends after the key's secret was edited reports on the old secret only."""
import threading

from conftest import good_key, wait_for
from fake_upstream import Reply

HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_a_check_of_the_old_secret_ending_after_an_edit_leaves_the_new_secret_active(
        make_proxy, openai_upstream):
    # Regression: the check reported its failure without the key's generation, so the
    # 401 earned by the revoked secret marked the freshly pasted one invalid.
    revoked = "sk-revoked-0123456789abcdef"
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": revoked,
                         "base_url": openai_upstream.base_url}])
    openai_upstream.fail(revoked, Reply(401, {"error": {
        "message": "Incorrect API key provided.", "type": "invalid_request_error",
        "param": None, "code": "invalid_api_key"}}, delay=1.0))
    key_id = proxy.pool.keys()[0].id
    got = {}
    check = threading.Thread(target=lambda: got.setdefault(
        "check", proxy.admin("POST", f"/api/keys/{key_id}/test")))
    check.start()
    assert wait_for(lambda: len(openai_upstream.calls) == 1, 5.0)
    edited = proxy.admin("PATCH", f"/api/keys/{key_id}", {"api_key": good_key(0)})
    check.join(10)
    assert edited.status_code == 200 and edited.json()["status"] == "active"
    result = got["check"].json()
    assert result["ok"] is False and result["status"] == 401  # the old secret's answer
    key = next(k for k in proxy.admin("GET", "/api/keys").json()["keys"] if k["id"] == key_id)
    assert key["status"] == "active"
    assert proxy.chat(HELLO).status_code == 200
    assert openai_upstream.keys_used()[-1] == good_key(0)


def test_a_check_of_the_current_secret_still_marks_it_invalid(make_proxy, openai_upstream):
    revoked = "sk-revoked-0123456789abcdef"
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": revoked,
                         "base_url": openai_upstream.base_url}])
    key_id = proxy.pool.keys()[0].id
    result = proxy.admin("POST", f"/api/keys/{key_id}/test").json()
    assert result["ok"] is False and result["invalid"] is True
    assert result["key"]["status"] == "invalid"
