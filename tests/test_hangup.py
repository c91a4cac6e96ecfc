"""The hang-up watcher on its own: what it cuts, and what it must never cut."""
from __future__ import annotations

import socket

from conftest import wait_for

from llm_proxy.hangup import HangupWatcher


def test_a_client_that_leaves_gets_its_upstream_cut():
    watcher = HangupWatcher()
    server_side, client = socket.socketpair()
    cuts = []
    watch = watcher.add(server_side, lambda: cuts.append(1))
    client.close()
    assert wait_for(lambda: watch.fired)
    assert cuts == [1]
    server_side.close()


def test_a_report_older_than_the_watch_cuts_nothing():
    # The report of a previous client that left, on an fd number since reused by a new
    # connection whose client is still there.
    watcher = HangupWatcher()
    server_side, client = socket.socketpair()
    cuts = []
    watch = watcher.add(server_side, lambda: cuts.append(1))
    watcher.event(server_side.fileno())
    assert not watch.fired and cuts == []
    client.close()  # the watch is still live: a real hang-up is still seen
    assert wait_for(lambda: watch.fired)
    assert cuts == [1]
    server_side.close()
