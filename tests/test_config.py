"""Configuration from the environment: LLM_KEYS, LLM_KEYS_FILE and the plain settings."""
import json

import pytest
from conftest import keys_env

from llm_proxy import create_app
from llm_proxy.config import Config, ConfigError

SECRET = "sk-live-SECRET-abcdefghijklmnop"


def entry(**fields):
    out = {"provider": "openai", "model": "gpt-4o", "api_key": SECRET}
    out.update(fields)
    return {k: v for k, v in out.items() if v is not None}


def load(env: dict) -> Config:
    return Config.from_env(env, dotenv_path=None)


def config_error(env: dict) -> str:
    with pytest.raises(ConfigError) as info:
        load(env)
    message = str(info.value)
    assert "\n" not in message, "a startup error is one line"
    assert SECRET not in message and "SECRET" not in message
    return message


# -- LLM_KEYS validation: each error names the entry and the field, never the secret -------

@pytest.mark.parametrize("value, expected", [
    ("[{'provider': 'openai'}]", "LLM_KEYS is not valid JSON"),
    (f'[{{"provider": "openai", "model": "gpt-4o", "api_key": "{SECRET}"', "not valid JSON"),
    ("[" * 100000, "LLM_KEYS is not valid JSON"),
    (json.dumps(entry()), "must be a JSON array"),
    (json.dumps(SECRET), "must be a JSON array"),
])
def test_llm_keys_that_are_not_a_json_array_stop_the_start(value, expected):
    assert expected in config_error({"LLM_KEYS": value})


@pytest.mark.parametrize("bad, index, field", [
    (entry(provider=None), 0, "provider"),
    (entry(model=None), 0, "model"),
    (entry(api_key=None), 0, "api_key"),
    (entry(provider="openia"), 0, "provider"),
    (entry(provider=SECRET), 0, "provider"),
    (entry(provider="openai-compatible"), 0, "base_url"),
    (entry(model=7), 0, "model"),
    (entry(model="  "), 0, "model"),
    (entry(api_key=12345), 0, "api_key"),
    (entry(api_key=""), 0, "api_key"),
    (entry(api_key=SECRET + " \n"), 0, "api_key"),
    (entry(base_url="api.example.com/v1"), 0, "base_url"),
    (entry(base_url=f"https://user:{SECRET}@example.com/v1"), 0, "base_url"),
    (entry(enabled="no"), 0, "enabled"),
    (SECRET, 0, "entry"),
])
def test_each_bad_entry_names_index_and_field(bad, index, field):
    entries = [bad] if index == 0 else [entry(api_key="sk-other-0123456789")] * index + [bad]
    message = config_error({"LLM_KEYS": json.dumps(entries)})
    assert message.startswith(f"LLM_KEYS entry {index}: field '{field}'")


def test_the_index_counts_from_zero_over_the_whole_array():
    entries = [entry(api_key="sk-first-0123456789"), entry(api_key="sk-second-0123456789"),
               entry(model=None)]
    message = config_error({"LLM_KEYS": json.dumps(entries)})
    assert message.startswith("LLM_KEYS entry 2: field 'model' is missing")


def test_valid_entries_are_normalised():
    config = load({"LLM_KEYS": json.dumps([
        entry(provider="xai", model="grok-4", base_url="http://127.0.0.1:9/v1/"),
        entry(provider="DeepSeek", model=" deepseek-chat "),
        entry(provider="openai-compatible", base_url="http://127.0.0.1:9"),
    ])})
    assert [(k["provider"], k["model"]) for k in config.keys] == [
        ("grok", "grok-4"), ("deepseek", "deepseek-chat"), ("openai-compatible", "gpt-4o")]
    assert config.keys[0]["base_url"] == "http://127.0.0.1:9/v1"
    assert "base_url" not in config.keys[1]


def test_empty_or_missing_llm_keys_is_an_empty_pool():
    assert load({}).keys == []
    assert load({"LLM_KEYS": "  "}).keys == []
    assert load({"LLM_KEYS": "[]"}).keys == []


# -- LLM_KEYS_FILE --------------------------------------------------------------------------

def test_llm_keys_and_llm_keys_file_are_combined(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([entry(model="from-file")]))
    config = load({"LLM_KEYS": json.dumps([entry(model="from-env")]),
                   "LLM_KEYS_FILE": str(path)})
    assert [k["model"] for k in config.keys] == ["from-env", "from-file"]


def test_llm_keys_file_errors_name_the_file_variable(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([entry(), entry(provider="nope", api_key="sk-x-0123456789")]))
    message = config_error({"LLM_KEYS_FILE": str(path)})
    assert message.startswith("LLM_KEYS_FILE entry 1: field 'provider'")


def test_unreadable_llm_keys_file_stops_the_start(tmp_path):
    missing = tmp_path / "absent.json"
    message = config_error({"LLM_KEYS_FILE": str(missing)})
    assert message.startswith("LLM_KEYS_FILE: cannot read") and "absent.json" in message


# -- warnings that do not stop the start ----------------------------------------------------

def test_duplicate_entries_are_reported_by_index_without_the_secret(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([entry()]))
    config = load({"LLM_KEYS": json.dumps([entry(), entry(model="other"), entry()]),
                   "LLM_KEYS_FILE": str(path)})
    assert config.warnings == [
        "LLM_KEYS entry 2 repeats LLM_KEYS entry 0 (same provider, model and api_key); "
        "the repeat is ignored",
        "LLM_KEYS_FILE entry 0 repeats LLM_KEYS entry 0 (same provider, model and api_key); "
        "the repeat is ignored"]
    assert len(config.keys) == 4


def test_unknown_entry_fields_are_warned_about_without_secret_looking_names():
    config = load({"LLM_KEYS": json.dumps([
        entry(baseurl="http://127.0.0.1:9/v1", **{SECRET: "x"})])})
    assert len(config.warnings) == 1
    assert config.warnings[0].startswith("LLM_KEYS entry 0: unknown field(s) 'baseurl', "
                                         "(a field name not shown) ignored")
    assert SECRET not in config.warnings[0]


def test_startup_warnings_reach_the_log_once_and_the_pool_drops_repeats(proxy_logs):
    env = keys_env([entry(), entry(), entry(model="other")])
    app = create_app(env)
    pool = app.extensions["llm_proxy.pool"]
    assert sorted(k.model for k in pool.keys()) == ["gpt-4o", "other"]
    repeats = [line for line in proxy_logs if "repeats" in line]
    assert repeats == ["WARNING llm_proxy: configuration: LLM_KEYS entry 1 repeats "
                       "LLM_KEYS entry 0 (same provider, model and api_key); the repeat "
                       "is ignored"]
    assert not any(SECRET in line for line in proxy_logs)


# -- plain settings -------------------------------------------------------------------------

def test_defaults():
    config = load({})
    assert config.max_body_bytes == 32 * 1024 * 1024
    assert config.proxy_tokens == ()
    assert config.cors_origins == ("*",)
    assert config.upstream_timeout == 600
    assert config.max_attempts == 5
    assert config.key_cooldown_seconds == 60
    assert config.log_level == "INFO"
    assert config.admin_token_generated and len(config.admin_token) >= 32


def test_settings_are_read():
    config = load({"PROXY_TOKENS": " tok-a, tok-b ,,", "MAX_BODY_BYTES": "65536",
                   "CORS_ORIGINS": "https://a.example,https://b.example",
                   "UPSTREAM_TIMEOUT": "2.5", "MAX_ATTEMPTS": "3", "LOG_LEVEL": "debug",
                   "ADMIN_TOKEN": "admin-0123456789"})
    assert config.proxy_tokens == ("tok-a", "tok-b")
    assert config.max_body_bytes == 65536
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.upstream_timeout == 2.5
    assert config.max_attempts == 3
    assert config.log_level == "DEBUG"
    assert config.admin_token == "admin-0123456789" and not config.admin_token_generated


@pytest.mark.parametrize("name, value", [
    ("MAX_BODY_BYTES", "lots"), ("MAX_BODY_BYTES", "10"), ("MAX_ATTEMPTS", "0"),
    ("MAX_ATTEMPTS", "2.5"), ("UPSTREAM_TIMEOUT", "-1"), ("LOG_LEVEL", "chatty"),
    ("LOG_FORMAT", "xml"),
    # Infinite or absurd waits would become socket timeouts no platform takes.
    ("UPSTREAM_TIMEOUT", "inf"), ("UPSTREAM_TIMEOUT", "nan"), ("UPSTREAM_TIMEOUT", "1e12"),
    ("UPSTREAM_CONNECT_TIMEOUT", "inf"), ("KEY_COOLDOWN_SECONDS", "nan"),
    ("KEY_RECHECK_SECONDS", "1e400"),
])
def test_bad_settings_stop_the_start_naming_the_variable(name, value):
    assert config_error({name: value}).startswith(name)
