"""A fast fake OpenAI Chat Completions upstream for the benchmark (asyncio, keep-alive).

It answers `POST /v1/chat/completions` in OpenAI's documented format: a `chat.completion`
object, or with `"stream": true` an SSE stream of `chat.completion.chunk` events (CHUNKS
of them, INTERVAL seconds apart, the first at once), the usage-only chunk when
`stream_options.include_usage` is set, and `data: [DONE]`. A missing bearer key is a 401,
a body without `model`/`messages` a 400, any other route a 404, all in OpenAI's error
envelope. Run: `python bench/upstream.py --port 0` prints `PORT <n>` once listening.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

USAGE = {"prompt_tokens": 24, "completion_tokens": 20, "total_tokens": 44}


def completion(model: str) -> bytes:
    """A typical short non-streamed answer."""
    return json.dumps({
        "id": "chatcmpl-bench0000000000000000000", "object": "chat.completion",
        "created": int(time.time()), "model": model, "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {
            "role": "assistant", "refusal": None, "annotations": [],
            "content": "The quick brown fox jumps over the lazy dog. " * 4},
            "logprobs": None, "finish_reason": "stop"}],
        "usage": USAGE}, separators=(",", ":")).encode()


def stream_events(model: str, chunks: int, include_usage: bool) -> list[bytes]:
    """The SSE events of one streamed answer: `chunks` chunk events, usage, [DONE]."""
    base = {"id": "chatcmpl-bench0000000000000000000", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model, "system_fingerprint": "fp_bench"}
    events = []
    for i in range(chunks):
        if i == 0:
            delta, finish = {"role": "assistant", "content": "", "refusal": None}, None
        elif i == chunks - 1:
            delta, finish = {}, "stop"
        else:
            delta, finish = {"content": f"w{i} "}, None
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                      "finish_reason": finish}]}
        if include_usage:
            chunk["usage"] = None
        events.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    if include_usage:
        events.append(b"data: " + json.dumps({**base, "choices": [], "usage": USAGE},
                                             separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def expected_text(chunks: int) -> str:
    """The assistant text a client assembles from one stream."""
    return "".join(f"w{i} " for i in range(1, chunks - 1))


def _response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _error(status: str, message: str, code=None, param=None) -> bytes:
    return _response(status, json.dumps({"error": {
        "message": message, "type": "invalid_request_error", "param": param,
        "code": code}}).encode())


class Upstream(asyncio.Protocol):
    """One client connection: parses requests as they arrive, answers in order."""

    chunks = 20
    interval = 0.05

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        self.busy = False
        self.queue: list = []

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            self.queue.append((lines[0], headers, body))
            if not self.busy:
                self._next()

    def _next(self) -> None:
        while self.queue and not self.busy:
            request_line, headers, body = self.queue.pop(0)
            answer = self.answer(request_line, headers, body)
            if isinstance(answer, bytes):
                self.transport.write(answer)
            else:
                self.busy = True
                asyncio.ensure_future(self._stream(*answer))

    def answer(self, request_line: str, headers: dict, body: bytes):
        method, path, _ = request_line.split(" ", 2)
        if path != "/v1/chat/completions":
            return _error("404 Not Found", f"Invalid URL ({method} {path})")
        if not headers.get("authorization", "").startswith("Bearer "):
            return _error("401 Unauthorized", "You didn't provide an API key.",
                          code="invalid_api_key")
        try:
            payload = json.loads(body)
        except ValueError:
            return _error("400 Bad Request", "We could not parse the JSON body of your request.")
        if not isinstance(payload, dict) or not isinstance(payload.get("model"), str):
            return _error("400 Bad Request", "you must provide a model parameter",
                          param="model")
        if not isinstance(payload.get("messages"), list) or not payload["messages"]:
            return _error("400 Bad Request", "[] is too short - 'messages'", param="messages")
        if not payload.get("stream"):
            return _response("200 OK", completion(payload["model"]))
        include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
        return (payload["model"], include_usage)

    async def _stream(self, model: str, include_usage: bool) -> None:
        events = stream_events(model, self.chunks, include_usage)
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i, event in enumerate(events):
            if 0 < i < self.chunks and self.interval:
                await asyncio.sleep(self.interval)
            if self.transport.is_closing():
                return
            self.transport.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.transport.write(b"0\r\n\r\n")
        self.busy = False
        self._next()


async def serve(port: int, chunks: int, interval: float) -> None:
    Upstream.chunks, Upstream.interval = chunks, interval
    server = await asyncio.get_running_loop().create_server(
        Upstream, "127.0.0.1", port, backlog=4096)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, args.chunks, args.interval))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
