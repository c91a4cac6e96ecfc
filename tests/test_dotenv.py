"""`.env` files: the unquoted multi-line LLM_KEYS of the original design, and quoted forms."""
import json

import pytest

from llm_proxy.config import Config, ConfigError
from llm_proxy.dotenv_file import read_dotenv

KEY_A = "sk-proj-AAAAaaaa1111bbbb2222"
KEY_B = "sk-BBBBbbbb3333cccc4444dddd"


def from_dotenv(tmp_path, text: str, environ=None, newline="\n") -> Config:
    path = tmp_path / ".env"
    path.write_bytes(text.replace("\n", newline).encode())
    return Config.from_env(environ or {}, dotenv_path=str(path))


def pairs(config: Config) -> list:
    return [(k["provider"], k["model"], k["api_key"]) for k in config.keys]


# The original design's example, as written: unquoted, one entry per line.
ORIGINAL_DESIGN = f"""\
# keys for the proxy
LLM_KEYS=[
  {{"provider": "openai", "model": "gpt-4o", "api_key": "{KEY_A}"}},
  {{"provider": "deepseek", "model": "deepseek-chat", "api_key": "{KEY_B}"}}
]
ADMIN_TOKEN=admin-from-dotenv-0123
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_unquoted_multiline_value_of_the_original_design(tmp_path, newline):
    config = from_dotenv(tmp_path, ORIGINAL_DESIGN, newline=newline)
    assert pairs(config) == [("openai", "gpt-4o", KEY_A),
                             ("deepseek", "deepseek-chat", KEY_B)]
    assert config.admin_token == "admin-from-dotenv-0123"


def test_a_byte_order_mark_from_an_editor_is_ignored(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"\xef\xbb\xbf" + ORIGINAL_DESIGN.encode())
    keys_file = tmp_path / "keys.json"
    keys_file.write_bytes(b"\xef\xbb\xbf" + json.dumps(
        [{"provider": "openai", "model": "o1", "api_key": KEY_B}]).encode())
    config = Config.from_env({"LLM_KEYS_FILE": str(keys_file)}, dotenv_path=str(path))
    assert ("openai", "o1", KEY_B) in pairs(config)
    assert ("openai", "gpt-4o", KEY_A) in pairs(config)


def test_python_dotenv_alone_would_read_only_the_bracket(tmp_path):
    from dotenv import dotenv_values
    path = tmp_path / ".env"
    path.write_text(ORIGINAL_DESIGN)
    assert dotenv_values(path)["LLM_KEYS"] == "["  # why read_dotenv exists


def test_single_quoted_multiline_value(tmp_path):
    text = f"""LLM_KEYS='[
  {{"provider": "openai", "model": "gpt-4o", "api_key": "{KEY_A}"}},
  {{"provider": "xai", "model": "grok-4", "api_key": "{KEY_B}"}}
]'
PROXY_TOKENS=tok-1,tok-2
"""
    config = from_dotenv(tmp_path, text)
    assert pairs(config) == [("openai", "gpt-4o", KEY_A), ("grok", "grok-4", KEY_B)]
    assert config.proxy_tokens == ("tok-1", "tok-2")


def test_double_quoted_value_with_escaped_quotes(tmp_path):
    value = json.dumps([{"provider": "openai", "model": "gpt-4o", "api_key": KEY_A}])
    text = 'LLM_KEYS="' + value.replace('"', '\\"') + '"\n'
    assert pairs(from_dotenv(tmp_path, text)) == [("openai", "gpt-4o", KEY_A)]


def test_single_line_unquoted_value_and_export_prefix(tmp_path):
    text = ('export LLM_KEYS=[{"provider": "openai", "model": "gpt-4o", '
            f'"api_key": "{KEY_A}"}}]\n')
    assert pairs(from_dotenv(tmp_path, text)) == [("openai", "gpt-4o", KEY_A)]


def test_entry_opening_on_the_first_line_and_brackets_inside_strings(tmp_path):
    text = f"""export LLM_KEYS=[{{"provider": "openai", "model": "odd]name[",
    "api_key": "{KEY_A}"}},
  {{"provider": "openai-compatible", "model": "m{{1}}", "api_key": "{KEY_B}",
    "base_url": "http://127.0.0.1:9/v1"}}]
LOG_LEVEL=debug
"""
    config = from_dotenv(tmp_path, text)
    assert pairs(config) == [("openai", "odd]name[", KEY_A),
                             ("openai-compatible", "m{1}", KEY_B)]
    assert config.log_level == "DEBUG"


def test_comment_lines_inside_the_unquoted_value_are_skipped(tmp_path):
    text = f"""LLM_KEYS=[
  # the first key
  {{"provider": "openai", "model": "gpt-4o", "api_key": "{KEY_A}"}}
  # , {{"provider": "openai", "model": "gpt-4o", "api_key": "{KEY_B}"}}
]
"""
    assert pairs(from_dotenv(tmp_path, text)) == [("openai", "gpt-4o", KEY_A)]


def test_the_real_environment_wins_over_dotenv(tmp_path):
    override = json.dumps([{"provider": "openai", "model": "from-env", "api_key": KEY_B}])
    config = from_dotenv(tmp_path, ORIGINAL_DESIGN, environ={"LLM_KEYS": override})
    assert pairs(config) == [("openai", "from-env", KEY_B)]
    assert config.admin_token == "admin-from-dotenv-0123"


def test_an_unclosed_value_names_the_variable_and_line_not_the_secret(tmp_path):
    text = f"""A=1
LLM_KEYS=[
  {{"provider": "openai", "model": "gpt-4o", "api_key": "{KEY_A}"}}
ADMIN_TOKEN=x
"""
    with pytest.raises(ConfigError) as info:
        from_dotenv(tmp_path, text)
    message = str(info.value)
    assert "LLM_KEYS" in message and "line 2" in message and "never closed" in message
    assert KEY_A not in message and "\n" not in message


def test_invalid_json_inside_the_unquoted_value_is_a_clear_error(tmp_path):
    text = f"""LLM_KEYS=[
  {{"provider": "openai", "model": "gpt-4o", "api_key": "{KEY_A}"}},
  {{"provider": "openai", "model": "gpt-4o", "api_key": "{KEY_B}"}},
]
"""
    with pytest.raises(ConfigError) as info:
        from_dotenv(tmp_path, text)
    message = str(info.value)
    assert message.startswith("LLM_KEYS is not valid JSON") and "line 4" in message
    assert KEY_A not in message and KEY_B not in message


def test_other_dotenv_syntax_is_left_to_python_dotenv():
    values = read_dotenv('A=plain\nB="quoted value"\nC=\'single\'\n# comment\nD=x # note\n')
    assert values == {"A": "plain", "B": "quoted value", "C": "single", "D": "x"}


def test_an_unclosed_bracket_in_another_variable_does_not_swallow_the_file():
    values = read_dotenv("GREETING={hello\nLOG_LEVEL=debug\n")
    assert values == {"GREETING": "{hello", "LOG_LEVEL": "debug"}
