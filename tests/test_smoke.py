from conftest import good_key


def test_openai_sdk_non_streaming(make_proxy, openai_upstream):
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                         "base_url": openai_upstream.base_url}])
    reply = proxy.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello from the fake."
    assert openai_upstream.keys_used() == [good_key(0)]


def test_openai_sdk_streaming(make_proxy, openai_upstream):
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                         "base_url": openai_upstream.base_url}])
    stream = proxy.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from the fake."
