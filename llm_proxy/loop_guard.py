"""Refusing the proxy's own requests: a key whose base_url points back at the proxy.

Such a request would call the proxy again and again until every thread waits on another
and the whole server stops answering. Each upstream request carries this process's random
id in a header; a chat request arriving with it came from this proxy.
"""
from __future__ import annotations

import secrets

HEADER = "X-LLM-Proxy-Loop"
# Made on first import, which gunicorn.conf.py does in the master: every worker shares
# it, so a loop that passes through another worker is caught too.
INSTANCE_ID = secrets.token_hex(8)
