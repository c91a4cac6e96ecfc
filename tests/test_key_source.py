"""A configured key edited through the admin API says it no longer is the LLM_KEYS entry."""
from conftest import good_key


def test_an_edited_configured_key_is_shown_as_defined_through_the_api(make_proxy,
                                                                      openai_upstream):
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                         "base_url": openai_upstream.base_url},
                        {"provider": "openai", "model": "gpt-4o", "api_key": good_key(1),
                         "base_url": openai_upstream.base_url}])
    first, second = proxy.admin("GET", "/api/keys").json()["keys"]
    assert first["source"] == second["source"] == "env"
    edited = proxy.admin("PATCH", f"/api/keys/{first['id']}", {"api_key": good_key(2)}).json()
    assert edited["source"] == "api"
    # Switching a key off and on is not a new definition of it.
    proxy.admin("PATCH", f"/api/keys/{second['id']}", {"enabled": False})
    toggled = proxy.admin("PATCH", f"/api/keys/{second['id']}", {"enabled": True}).json()
    assert toggled["source"] == "env"
