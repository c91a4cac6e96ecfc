"""Shared fixtures: the proxy on a real port, fake upstreams, log capture, the web page browser."""
from __future__ import annotations

import json
import logging
import os
import sys
import threading

import pytest
import requests
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

sys.path.insert(0, os.path.dirname(__file__))

from anthropic_common import ant_key  # noqa: E402
from fake_anthropic import FakeAnthropic  # noqa: E402
from fake_gemini import FakeGemini  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from gemini_common import gem_key  # noqa: E402
# Re-exported: the test modules import these from conftest.
from helpers import (HELLO, assert_error, free_port, good_key, id_of,  # noqa: E402,F401
                     installed_cli, key_entries, key_entry, listed, sse_data,
                     sse_payloads, status_of,
                     wait_for)
from secret_audit import AUDIT  # noqa: E402
from web_page import CHROMIUM, CHROMIUM_ARGS, Browser  # noqa: E402

from llm_proxy import create_app  # noqa: E402

# Variables that would let a real key or a developer's settings reach a test.
_CLEARED = ("LLM_KEYS", "LLM_KEYS_FILE", "ADMIN_TOKEN", "PROXY_TOKENS", "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "DEEPSEEK_API_KEY",
            "XAI_API_KEY", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
            "http_proxy", "https_proxy", "all_proxy", "PORT", "CORS_ORIGINS",
            "MAX_ATTEMPTS", "UPSTREAM_TIMEOUT", "KEY_COOLDOWN_SECONDS", "LOG_FORMAT",
            "LOG_LEVEL", "REDIS_URL", "REDIS_PREFIX", "ENCRYPTION_KEY", "WEB_CONCURRENCY",
            "PROMETHEUS_MULTIPROC_DIR")

ADMIN_TOKEN = "admin-test-token-0123456789"

# The test server's own access log adds nothing the proxy's request lines do not say.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


class ProxyServer:
    """The proxy app served on 127.0.0.1:<ephemeral> by a threaded WSGI server."""

    def __init__(self, env: dict, threaded: bool = True):
        self.app = create_app(env)
        AUDIT.watch(self.app)  # whole-run secret audit, checked at session end
        self.config = self.app.config["PROXY"]
        self.pool = self.app.extensions["llm_proxy.pool"]
        self.admin_token = self.config.admin_token
        # threaded=False serves every request on one thread, as one gunicorn thread does.
        self.server = make_server("127.0.0.1", 0, self.app, threaded=threaded)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.base = self.url + "/v1"
        self.http = requests.Session()
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        recheck = self.app.extensions.get("llm_proxy.recheck")
        if recheck:
            recheck.stop()

    def chat(self, body, *, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            kwargs["json"] = body
        else:
            kwargs["data"] = body
        return self.http.post(self.base + "/chat/completions", headers=headers, **kwargs)

    def admin(self, method: str, path: str, body=None, *, token: str | None = "default",
              **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token == "default":
            token = self.admin_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            kwargs["data"] = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return self.http.request(method, self.url + path, headers=headers, **kwargs)

    def openai(self, api_key: str = "unused", **kwargs):
        import openai
        return openai.OpenAI(base_url=self.base, api_key=api_key, max_retries=0,
                             timeout=kwargs.pop("timeout", 30), **kwargs)

    def anthropic(self, api_key: str | None = "unused", **kwargs):
        """The official anthropic SDK's client aimed at this proxy (no retries)."""
        import anthropic
        return anthropic.Anthropic(base_url=self.url, api_key=api_key, max_retries=0,
                                   timeout=kwargs.pop("timeout", 30), **kwargs)

    def messages(self, body, *, path: str = "/v1/messages", **kwargs) -> requests.Response:
        """POST an Anthropic Messages body (or raw bytes) to the proxy."""
        headers = {"anthropic-version": "2023-06-01", **kwargs.pop("headers", {})}
        if isinstance(body, (dict, list)):
            kwargs["json"] = body
        else:
            kwargs["data"] = body
        return self.http.post(self.url + path, headers=headers, **kwargs)


def keys_env(entries: list, **env) -> dict:
    out = {"LLM_KEYS": json.dumps(entries), "ADMIN_TOKEN": ADMIN_TOKEN}
    out.update({k: str(v) for k, v in env.items()})
    return out


@pytest.fixture
def make_proxy():
    """make_proxy(entries, **env) → a running ProxyServer; closed after the test."""
    servers = []

    def start(entries=(), threaded=True, **env):
        server = ProxyServer(keys_env(list(entries), **env), threaded=threaded)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def proxy(make_proxy, openai_upstream):
    """The proxy with good_key(0) and good_key(1) at `openai_upstream`; a module whose tests
    need another proxy defines its own `proxy`."""
    return make_proxy(key_entries(openai_upstream, 2))


@pytest.fixture
def openai_upstream():
    """A fake OpenAI upstream accepting the keys sk-good-* listed in `.valid_keys`."""
    fake = FakeOpenAI(valid_keys={good_key(i) for i in range(8)})
    yield fake
    fake.close()


FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def claude_code_request() -> dict:
    """The first request Claude Code 2.1.197 sends for a one-line prompt (prose replaced by
    its lengths): method, path, headers and body."""
    with open(os.path.join(FIXTURES, "claude-code-2.1.197-request.json")) as f:
        return json.load(f)


@pytest.fixture
def codex_request() -> dict:
    """The first request Codex CLI 0.171.0 sends for a one-line prompt (prose replaced by
    its lengths): method, path, headers and body."""
    with open(os.path.join(FIXTURES, "codex-cli-0.171.0-request.json")) as f:
        return json.load(f)


@pytest.fixture
def fixture_body(claude_code_request) -> dict:
    return claude_code_request["body"]


@pytest.fixture
def anthropic_upstream():
    """A fake Anthropic API accepting ant_key(0) to ant_key(3)."""
    fake = FakeAnthropic(valid_keys={ant_key(i) for i in range(4)})
    yield fake
    fake.close()


@pytest.fixture
def gemini_upstream():
    """A fake Gemini API accepting gem_key(0) to gem_key(3)."""
    fake = FakeGemini(valid_keys={gem_key(i) for i in range(4)})
    yield fake
    fake.close()


@pytest.fixture
def proxy_logs():
    """Every line the proxy logs during the test, formatted."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("llm_proxy")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one for each module of web page tests."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def web(browser):
    """A Browser for one test; afterwards, no script error and nothing fetched from outside."""
    opened = Browser(browser)
    yield opened
    opened.close()
    assert opened.script_errors == []
    assert opened.outside_requests == []


def pytest_configure(config):
    config.addinivalue_line("markers", "audit_last: runs after every other test (it checks "
                                       "the traffic of the whole run)")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("audit_last") is not None)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any proxy response or log line of it held a configured secret."""
    leaks = AUDIT.leaks()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")
        reporter.write_line(AUDIT.summary() + (f": {len(leaks)} LEAKS" if leaks else ""))
        for line in leaks[:50]:
            reporter.write_line("  " + line, red=True)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
