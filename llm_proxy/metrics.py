"""Prometheus metrics of the proxy (filled in by the operations work; no-ops until then)."""
from __future__ import annotations


def request_started() -> None:
    pass


def request_finished(provider: str, model: str, status: int, streamed: bool,
                     seconds: float) -> None:
    pass


def upstream_latency(provider: str, model: str, seconds: float) -> None:
    pass


def first_byte(provider: str, model: str, seconds: float) -> None:
    pass


def failover(reason: str) -> None:
    pass
