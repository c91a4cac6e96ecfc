"""Periodic re-check of keys marked `invalid`, so a key the provider accepts again returns."""
from __future__ import annotations

import logging
import threading
import weakref

log = logging.getLogger(__name__)


class InvalidKeyRechecker:
    """A daemon thread probing every enabled `invalid` key each `interval` seconds."""

    def __init__(self, pool, config, interval: float):
        self._pool = weakref.ref(pool)
        self._config = config
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm-proxy-key-recheck",
                                        daemon=True)

    def start(self) -> "InvalidKeyRechecker":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check_once(self) -> int:
        """Probe each invalid key once; returns how many came back."""
        from .upstream_probe import probe_key
        pool = self._pool()
        if pool is None:
            self._stop.set()
            return 0
        restored = 0
        for key in pool.keys():
            if key.enabled and key.invalid:
                if probe_key(key.lease(), pool, self._config).get("ok"):
                    restored += 1
                    log.info("key recheck key=%s model=%s result=valid", key.id, key.model)
        return restored

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_once()
            except Exception:  # a failed round must not end the re-checks
                log.exception("key recheck failed")
