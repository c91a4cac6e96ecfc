"""What test_streaming and test_gunicorn share: OpenAI fakes that time their stream events or
go quiet, a client that reads a stream off a bare socket, and the check that the proxy let a
quiet upstream go."""
import http.client
import json
import select
import socket
import time

from conftest import wait_for
from fake_openai import FakeOpenAI

HELLO = [{"role": "user", "content": "hi"}]
STREAM_BODY = {"model": "gpt-4o", "messages": HELLO, "stream": True}


class _TimedWriter:
    """Wraps a handler's wfile; records when each SSE payload went out."""

    def __init__(self, inner, sent: list):
        self.inner, self.sent = inner, sent

    def write(self, data):
        n = self.inner.write(data)
        start = data.find(b"data: ")
        if start >= 0:
            self.sent.append((time.monotonic(), data[start + 6:data.index(b"\n\n", start)]))
        return n

    def __getattr__(self, name):
        return getattr(self.inner, name)


class TimedOpenAI(FakeOpenAI):
    """FakeOpenAI recording (send time, payload) of every streamed event in `sent`."""

    def __init__(self, *args, **kwargs):
        self.sent = []
        super().__init__(*args, **kwargs)
        # Like real API servers: without TCP_NODELAY the first event would wait behind
        # the unacknowledged headers (Nagle), up to a delayed ACK, before leaving the fake.
        self.server.RequestHandlerClass.disable_nagle_algorithm = True

    def _write_stream(self, h, stream):
        h.wfile = _TimedWriter(h.wfile, self.sent)
        super()._write_stream(h, stream)


class RawStream:
    """A streamed chat request over a plain socket: no client-side buffering at all."""

    def __init__(self, proxy, body=STREAM_BODY, wait_for_answer=True):
        self.conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
        self.conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                          headers={"Content-Type": "application/json"})
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse() if wait_for_answer else None
        self.buffer = b""

    def events(self):
        """Yield (arrival time, payload) per SSE event as its bytes arrive."""
        while True:
            while b"\n\n" not in self.buffer:
                data = self.resp.read1(65536)
                if not data:
                    return
                self.buffer += data
            event, self.buffer = self.buffer.split(b"\n\n", 1)
            assert event.startswith(b"data: "), event
            yield time.monotonic(), event[6:]

    def close(self):
        """Leave like a client whose user pressed stop: an orderly close, nothing more."""
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if self.resp is not None:
            self.resp.close()


def assert_upstream_let_go(fake, left: float) -> None:
    """The silent fake (it would wait 10 s) saw the proxy hang up soon after the client left."""
    assert wait_for(lambda: fake.hung_up_at is not None, 3.0), "upstream still open"
    assert fake.hung_up_at - left < 2


class SilentOpenAI(FakeOpenAI):
    """Sends the first chunk, then says nothing while it watches for the proxy to hang up."""

    def __init__(self, *args, **kwargs):
        self.hung_up_at = None
        super().__init__(*args, **kwargs)

    def _write_stream(self, h, stream):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        data = stream.events[0]
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()
        # Like a reasoning model thinking before its next token: quiet for up to 10 s.
        ready, _, _ = select.select([h.connection], [], [], 10)
        if ready and h.connection.recv(1) == b"":
            self.hung_up_at = time.monotonic()
        h.close_connection = True


class HeadlessOpenAI(FakeOpenAI):
    """Sends nothing at all for up to 10 s (a model thinking before its answer's head),
    watching for the proxy to hang up."""

    def __init__(self, *args, **kwargs):
        self.hung_up_at = None
        super().__init__(*args, **kwargs)

    def _write(self, h, answer):
        ready, _, _ = select.select([h.connection], [], [], 10)
        if ready and h.connection.recv(1) == b"":
            self.hung_up_at = time.monotonic()
        h.close_connection = True
