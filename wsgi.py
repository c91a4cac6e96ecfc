"""WSGI entry point: `gunicorn wsgi:app`."""
import logging
import os
import sys

from llm_proxy import create_app
from llm_proxy.config import Config, ConfigError

try:
    _config = Config.from_env()
except ConfigError as exc:
    print(f"llm-proxy: configuration error: {exc}", file=sys.stderr, flush=True)
    # Gunicorn halts (instead of respawning) when a worker exits with 3 before booting.
    sys.exit(3)

app = create_app(_config)

if _config.admin_token_generated:
    # Under gunicorn, gunicorn.conf.py generates and logs the token before forking, so
    # this only runs under other servers.
    logging.getLogger("llm_proxy").warning(
        "ADMIN_TOKEN not set; generated one for this run. Web UI: "
        "http://localhost:%s/static/index.html#token=%s",
        os.environ.get("PORT", "7788"), _config.admin_token)
