"""llm-proxy: an OpenAI-compatible proxy that rotates API keys across LLM providers."""
from __future__ import annotations

import logging

from flask import Flask, Response, redirect, request

from .config import Config

log = logging.getLogger(__name__)

__version__ = "0.1.0"


def create_app(config: Config | dict | None = None) -> Flask:
    """Build the application: config, key pool, attempt loop, blueprints and error handler.

    `config` is a Config, a mapping of environment variables (tests), or None to read the
    process environment and `.env`.
    """
    if config is None:
        config = Config.from_env()
    elif isinstance(config, dict):
        config = Config.from_env(config, dotenv_path=None)

    from . import chat, errors, keys_api, loop_guard, messages_api, redaction
    from . import activity_api, embeddings_api, gemini_api, responses_api
    from .activity import make_activity
    from .attempts import AttemptLoop
    from .logs import setup_logging
    from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics

    setup_logging(config.log_level, config.log_format)
    app = Flask(__name__, static_folder=_static_folder(), static_url_path="/static")
    app.config["PROXY"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False

    pool = _make_pool(config)
    app.extensions["llm_proxy.pool"] = pool
    metrics = app.extensions["llm_proxy.metrics"] = Metrics(pool)
    activity = app.extensions["llm_proxy.activity"] = make_activity(config)
    app.extensions["llm_proxy.attempts"] = AttemptLoop(
        pool, max_attempts=config.max_attempts, connect_timeout=config.connect_timeout,
        read_timeout=config.upstream_timeout, metrics=metrics, activity=activity,
        fallbacks=config.fallbacks, max_wait=config.max_wait_seconds)
    app.wsgi_app = metrics.wrap_wsgi(app.wsgi_app)

    if config.key_recheck_seconds > 0:
        from .key_health import InvalidKeyRechecker
        app.extensions["llm_proxy.recheck"] = InvalidKeyRechecker(
            pool, config, config.key_recheck_seconds).start()

    errors.init_app(app)
    redaction.init_app(app)
    app.register_blueprint(chat.bp)
    app.register_blueprint(messages_api.bp)
    app.register_blueprint(responses_api.bp)
    app.register_blueprint(embeddings_api.bp)
    app.register_blueprint(gemini_api.bp)
    app.register_blueprint(keys_api.bp)
    app.register_blueprint(activity_api.bp)

    from flask_cors import CORS
    # The anthropic and Google SDKs in a browser send their key (and Anthropic's API
    # version) as headers of their own.
    CORS(app, origins=list(config.cors_origins),
         expose_headers=["Retry-After", "x-request-id", "x-llm-proxy-max-tokens-capped",
                         "x-llm-proxy-token-count", "x-llm-proxy-model", "x-llm-proxy-key"],
         allow_headers=["Authorization", "Content-Type", "x-api-key", "anthropic-version",
                        "anthropic-beta", "anthropic-dangerous-direct-browser-access",
                        "x-goog-api-key", "x-goog-api-client"],
         max_age=600)

    @app.before_request
    def _note_proxy_chain():
        # Every request notes its chain, so no upstream call (a key check from the admin
        # API, say) ever carries an earlier request's. The chat routes check it after
        # their token check.
        loop_guard.arrived(request.headers.get(loop_guard.HEADER))

    @app.get("/")
    def index():
        """The web UI lives under /static."""
        return redirect("/static/index.html", code=302)

    @app.get("/healthz")
    def healthz():
        """Liveness and key counts by state; no upstream call, no secret."""
        return {"status": "ok", "version": __version__, "keys": pool.counts_by_status(),
                "models": len(pool.models()), "shared_state": _shared_state(pool)}

    @app.get("/metrics")
    def prometheus_metrics():
        """Prometheus text exposition; no token (it holds no secret)."""
        return Response(metrics.render(), 200, content_type=METRICS_CONTENT_TYPE)

    _warn_about_defaults(config, pool)
    return app


def _shared_state(pool) -> str:
    """"ok" or "unavailable" for the Redis store; "local" for the in-process one."""
    shared = getattr(pool, "shared", None)
    if shared is None:
        return "local"
    return "ok" if shared else "unavailable"


def _make_pool(config: Config):
    """The shared store with REDIS_URL, else the in-process one."""
    if config.redis_url:
        from .pool.redis_store import RedisKeyPool
        return RedisKeyPool(config.keys, url=config.redis_url, prefix=config.redis_prefix,
                            secret_material=config.encryption_key or config.admin_token,
                            default_cooldown=config.key_cooldown_seconds,
                            on_state_change=_log_state_change)
    from .pool import KeyPool
    return KeyPool(config.keys, default_cooldown=config.key_cooldown_seconds,
                   on_state_change=_log_state_change)


def _static_folder() -> str:
    import os
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")


def _log_state_change(key, old: str, new: str, reason: str) -> None:
    log.warning("key state key=%s model=%s provider=%s from=%s to=%s reason=%s",
                key.id, key.model, key.provider, old, new, reason)


def _warn_about_defaults(config: Config, pool) -> None:
    for line in config.warnings:
        log.warning("configuration: %s", line)
    if config.testing:
        return
    if not config.keys:
        log.warning("no keys configured (LLM_KEYS / LLM_KEYS_FILE): every chat request "
                    "will answer 404 until keys are added through the admin API")
    else:
        log.info("loaded %d keys for %d models", len(pool.keys()), len(pool.models()))
    if not config.proxy_tokens:
        log.warning("PROXY_TOKENS is not set: the chat and models routes are open to anyone "
                    "who can reach this port")
