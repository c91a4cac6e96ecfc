"""In text mode every line of gunicorn's and the application's log has one time format."""
import re

import requests
from conftest import good_key
from gunicorn_process import Gunicorn

HI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
# The application's format: `2026-12-02 07:59:18,042 WARNING llm_proxy: ...`.
LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
                  r"[\w.]+: ")


def test_gunicorn_and_application_lines_share_one_format(openai_upstream, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    server = Gunicorn(log_path, [{"provider": "openai", "model": "gpt-4o",
                                  "api_key": good_key(0), "base_url": openai_upstream.base_url}],
                      env={"ADMIN_TOKEN": "admin-token-0123456789"})
    try:
        assert requests.post(server.base + "/chat/completions", json=HI,
                             timeout=10).status_code == 200
    finally:
        output = server.stop()
    lines = [line for line in output.splitlines() if line.strip()]
    assert any("gunicorn.error: Listening at" in line for line in lines)
    assert any("llm_proxy.attempts: request " in line for line in lines)
    assert [line for line in lines if not LINE.match(line)] == []
