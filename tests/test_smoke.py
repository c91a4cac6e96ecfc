import openai
import pytest

from conftest import good_key, key_entry
from fake_openai import error
from fake_upstream import Reply


def test_openai_sdk_non_streaming(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream)])
    reply = proxy.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello from the fake."
    assert openai_upstream.keys_used() == [good_key(0)]


def test_openai_sdk_streaming(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream)])
    stream = proxy.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from the fake."


def test_the_providers_request_id_reaches_the_client(make_proxy, openai_upstream, proxy_logs):
    # The SDK reads x-request-id; clients quote it to the provider's support.
    proxy = make_proxy([key_entry(openai_upstream)])
    client = proxy.openai()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raw.request_id and raw.request_id.startswith("req_")
    assert raw.parse()._request_id == raw.request_id
    assert any(f"request_id={raw.request_id}" in line for line in proxy_logs)
    with client.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True) as raw:
        assert raw.headers["x-request-id"].startswith("req_")
        list(raw.iter_lines())

    openai_upstream.fail(good_key(0), error(400, "Bad value.", headers={"x-request-id": "req_e1"}))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o",
                                       messages=[{"role": "user", "content": "hi"}])
    assert caught.value.request_id == "req_e1"

    # A value no header may carry is not passed on.
    openai_upstream.fail(good_key(0), Reply(200, {
        "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"},
                     "finish_reason": "stop"}]}, {"x-request-id": "a b"}))
    assert proxy.chat({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}) \
        .headers.get("x-request-id") is None
