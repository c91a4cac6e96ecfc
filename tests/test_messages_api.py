"""The Anthropic Messages API through the official anthropic SDK, to every kind of key.

Each model below has one key: Anthropic's (the body goes through as sent), OpenAI's and
Gemini's (translated both ways), each behind a strict fake of the real API.
"""
from __future__ import annotations

import base64
import json

import anthropic
import pytest
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini
from fake_openai import FakeOpenAI

ANT_KEY = "sk-ant-api03-good0-0123456789abcdefghij"
OPENAI_KEY = "sk-good-0-0123456789abcdef"
GEMINI_KEY = "AIzaSyGood0-0123456789abcdefghijklmn"
CLAUDE, GPT, GEMINI, O3 = "claude-test", "gpt-4o", "gemini-2.5-flash", "o3"
MODELS = (CLAUDE, GPT, GEMINI)
GREETING = {CLAUDE: "Hello from Claude.", GPT: "Hello from the fake.",
            GEMINI: "Hello from Gemini."}
HI = [{"role": "user", "content": "Hi"}]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
WEATHER = {"name": "get_weather", "description": "Weather of a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}
TIME = {"name": "get_time", "description": "Local time of a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


class Upstreams:
    def __init__(self):
        self.anthropic = FakeAnthropic(valid_keys={ANT_KEY})
        self.openai = FakeOpenAI(valid_keys={OPENAI_KEY})
        self.gemini = FakeGemini(valid_keys={GEMINI_KEY})

    def entries(self) -> list:
        return [{"provider": "anthropic", "model": CLAUDE, "api_key": ANT_KEY,
                 "base_url": self.anthropic.url},
                {"provider": "openai", "model": GPT, "api_key": OPENAI_KEY,
                 "base_url": self.openai.base_url},
                {"provider": "openai", "model": O3, "api_key": OPENAI_KEY,
                 "base_url": self.openai.base_url},
                {"provider": "gemini", "model": GEMINI, "api_key": GEMINI_KEY,
                 "base_url": self.gemini.url}]

    def last_body(self, model: str) -> dict:
        fake = {CLAUDE: self.anthropic, GEMINI: self.gemini}.get(model, self.openai)
        return fake.calls[-1].body

    def close(self):
        for fake in (self.anthropic, self.openai, self.gemini):
            fake.close()


@pytest.fixture
def upstreams():
    fakes = Upstreams()
    yield fakes
    fakes.close()


@pytest.fixture
def proxy(make_proxy, upstreams):
    return make_proxy(upstreams.entries())


@pytest.fixture
def client(proxy):
    return proxy.anthropic()


def _plain(message) -> dict:
    """A message as comparable data: no id (each answer has its own), no unset fields."""
    return message.model_dump(exclude={"id"}, exclude_none=True)


# -- answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_plain_message(client, upstreams, model):
    message = client.messages.create(model=model, max_tokens=256, messages=HI)
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == model
    assert [(b.type, b.text) for b in message.content] == [("text", GREETING[model])]
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_stream_helper_accumulates_the_same_message_as_the_non_streamed_answer(client, model):
    whole = client.messages.create(model=model, max_tokens=256, messages=HI)
    with client.messages.stream(model=model, max_tokens=256, messages=HI) as stream:
        text = "".join(stream.text_stream)
        streamed = stream.get_final_message()
    assert text == GREETING[model]
    assert _plain(streamed) == _plain(whole)


@pytest.mark.parametrize("model", MODELS)
def test_stream_is_anthropics_event_sequence(client, model):
    events = [e.type for e in client.messages.create(model=model, max_tokens=256,
                                                      messages=HI, stream=True)]
    assert events[0] == "message_start"
    assert events[-2:] == ["message_delta", "message_stop"]
    assert events.index("content_block_start") < events.index("content_block_delta") \
        < events.index("content_block_stop")


@pytest.mark.parametrize("model", MODELS)
def test_raw_stream_names_every_event_and_pings(proxy, model):
    resp = proxy.messages({"model": model, "max_tokens": 64, "messages": HI, "stream": True},
                          stream=True)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    blocks = resp.text.strip().split("\n\n")
    names = [b.split("\n", 1)[0] for b in blocks]
    assert all(n.startswith("event: ") for n in names)
    assert "event: ping" in names
    for block in blocks:
        name, data = block.split("\n", 1)
        assert json.loads(data.removeprefix("data: "))["type"] == name.removeprefix("event: ")


# -- tools ------------------------------------------------------------------------------


def _tool_round(client, model, stream: bool, **extra):
    """A question that makes the model call get_weather, then the tool's answer."""
    asked = [{"role": "user", "content": "Weather in Paris?"}]
    create = client.messages.create
    if stream:
        with client.messages.stream(model=model, max_tokens=256, tools=[WEATHER],
                                    messages=asked, **extra) as s:
            first = s.get_final_message()
    else:
        first = create(model=model, max_tokens=256, tools=[WEATHER], messages=asked, **extra)
    calls = [b for b in first.content if b.type == "tool_use"]
    results = [{"type": "tool_result", "tool_use_id": c.id, "content": "sunny, 21 C"}
               for c in calls]
    second = create(model=model, max_tokens=256, tools=[WEATHER], messages=[
        *asked, {"role": "assistant", "content": [b.model_dump(exclude_none=True)
                                                  for b in first.content]},
        {"role": "user", "content": results}])
    return first, calls, second


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", MODELS)
def test_tool_round_trip(client, model, stream):
    first, calls, second = _tool_round(client, model, stream)
    assert first.stop_reason == "tool_use"
    assert [(c.name, c.input) for c in calls] == [("get_weather", calls[0].input)]
    assert calls[0].input["city"] == "Paris"
    assert second.stop_reason == "end_turn"
    assert "sunny, 21 C" in second.content[0].text


@pytest.mark.parametrize("model", [GPT, GEMINI])
def test_parallel_tool_calls_and_an_error_result(client, upstreams, model):
    asked = [{"role": "user", "content": "Use all tools for Paris."}]
    first = client.messages.create(model=model, max_tokens=256, tools=[WEATHER, TIME],
                                   messages=asked)
    calls = [b for b in first.content if b.type == "tool_use"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2
    second = client.messages.create(model=model, max_tokens=256, tools=[WEATHER, TIME], messages=[
        *asked, {"role": "assistant", "content": [b.model_dump(exclude_none=True)
                                                  for b in first.content]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": calls[0].id, "content": "sunny"},
            {"type": "tool_result", "tool_use_id": calls[1].id, "is_error": True,
             "content": [{"type": "text", "text": "clock unavailable"}]}]}])
    assert second.stop_reason == "end_turn"
    body = upstreams.last_body(model)
    if model == GPT:
        tool_messages = [m for m in body["messages"] if m["role"] == "tool"]
        assert [(m["tool_call_id"], m["content"]) for m in tool_messages] == [
            (calls[0].id, "sunny"), (calls[1].id, '{"error": "clock unavailable"}')]
    else:  # Gemini's documented shape for a failed call: an "error" member
        parts = body["contents"][-1]["parts"]
        assert [p["functionResponse"] for p in parts] == [
            {"name": "get_weather", "response": {"output": "sunny"}},
            {"name": "get_time", "response": {"error": "clock unavailable"}}]


@pytest.mark.parametrize("choice,openai_choice,gemini_mode", [
    ({"type": "auto"}, "auto", "AUTO"),
    ({"type": "any"}, "required", "ANY"),
    ({"type": "tool", "name": "get_time"}, {"type": "function", "function": {"name": "get_time"}},
     "ANY"),
    ({"type": "none"}, "none", "NONE"),
])
def test_tool_choice_is_translated(client, upstreams, choice, openai_choice, gemini_mode):
    for model in (GPT, GEMINI):
        client.messages.create(model=model, max_tokens=64, tools=[WEATHER, TIME],
                               tool_choice=choice, messages=HI)
    assert upstreams.last_body(GPT)["tool_choice"] == openai_choice
    config = upstreams.last_body(GEMINI)["toolConfig"]["functionCallingConfig"]
    assert config["mode"] == gemini_mode
    if choice["type"] == "tool":
        assert config["allowedFunctionNames"] == ["get_time"]


def test_disabling_parallel_tool_use_reaches_openai(client, upstreams):
    client.messages.create(model=GPT, max_tokens=64, tools=[WEATHER], messages=HI,
                           tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    body = upstreams.last_body(GPT)
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("auto", False)
    assert body["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "parameters": WEATHER["input_schema"],
        "description": "Weather of a city."}}]


# -- what the translation carries -------------------------------------------------------


def test_system_blocks_images_and_turns_reach_openai(client, upstreams):
    client.messages.create(
        model=GPT, max_tokens=64,
        system=[{"type": "text", "text": "Be brief."},
                {"type": "text", "text": "Answer in French.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "My name is Ada."},
                  {"role": "assistant", "content": [{"type": "text", "text": "Hello Ada."}]},
                  {"role": "user", "content": [
                      {"type": "text", "text": "What is this?"},
                      {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                   "data": PNG}},
                      {"type": "image", "source": {"type": "url",
                                                   "url": "https://example.com/cat.jpg"}}]}])
    assert upstreams.last_body(GPT)["messages"] == [
        {"role": "system", "content": "Be brief.\n\nAnswer in French."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}]


def test_system_blocks_images_and_turns_reach_gemini(client, upstreams):
    client.messages.create(
        model=GEMINI, max_tokens=64, system="Be brief.",
        messages=[{"role": "user", "content": "My name is Ada."},
                  {"role": "assistant", "content": "Hello Ada."},
                  {"role": "user", "content": [
                      {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                   "data": PNG}},
                      {"type": "text", "text": "What is this?"}]}])
    body = upstreams.last_body(GEMINI)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "My name is Ada."}]},
        {"role": "model", "parts": [{"text": "Hello Ada."}]},
        {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}},
                                   {"text": "What is this?"}]}]


def test_sampling_and_stop_sequences_are_carried(client, upstreams):
    for model in (GPT, GEMINI):
        client.messages.create(model=model, max_tokens=100, messages=HI,
                               stop_sequences=["END", "STOP"],
                               extra_body={"temperature": 0.3})
    openai_body = upstreams.last_body(GPT)
    assert (openai_body["stop"], openai_body["temperature"]) == (["END", "STOP"], 0.3)
    assert openai_body["max_completion_tokens"] == 100
    config = upstreams.last_body(GEMINI)["generationConfig"]
    assert config == {"maxOutputTokens": 100, "temperature": 0.3,
                      "stopSequences": ["END", "STOP"]}
    client.messages.create(model=GEMINI, max_tokens=100, messages=HI,
                           extra_body={"top_p": 0.5, "top_k": 40})
    assert upstreams.last_body(GEMINI)["generationConfig"]["topK"] == 40


def test_max_tokens_beyond_the_model_is_capped_and_said_in_a_header(client, upstreams):
    raw = client.messages.with_raw_response.create(model=GPT, max_tokens=64000, messages=HI,
                                                   stream=True)
    assert raw.headers["x-llm-proxy-max-tokens-capped"] == "16384"
    assert "".join(e.delta.text for e in raw.parse() if e.type == "content_block_delta")
    assert upstreams.last_body(GPT)["max_completion_tokens"] == 16384
    # Within the model's limit (Gemini 2.5: 65,536) nothing changes, and no header says so.
    raw = client.messages.with_raw_response.create(model=GEMINI, max_tokens=20000, messages=HI)
    assert "x-llm-proxy-max-tokens-capped" not in raw.headers
    assert upstreams.last_body(GEMINI)["generationConfig"]["maxOutputTokens"] == 20000


@pytest.mark.parametrize("model,settings,expected", [
    (O3, {"thinking": {"type": "enabled", "budget_tokens": 2048}}, ("reasoning_effort", "low")),
    (O3, {"output_config": {"effort": "max"}}, ("reasoning_effort", "high")),
    (O3, {"thinking": {"type": "disabled"}}, ("reasoning_effort", "low")),
    (GPT, {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}, None),
    (GEMINI, {"output_config": {"effort": "medium"}},
     ("thinkingConfig", {"thinkingBudget": 8192})),
])
def test_thinking_and_effort_become_the_targets_reasoning_setting(client, upstreams, model,
                                                                   settings, expected):
    client.messages.create(model=model, max_tokens=4096, messages=HI, extra_body=settings)
    body = upstreams.last_body(model)
    if model == GEMINI:
        body = body["generationConfig"]
    if expected is None:  # gpt-4o does not reason, and refuses reasoning_effort
        assert "reasoning_effort" not in body
    else:
        assert body[expected[0]] == expected[1]


def test_what_only_tunes_anthropics_service_is_left_out(client, upstreams):
    client.messages.create(
        model=GPT, max_tokens=64, messages=HI, metadata={"user_id": "u-1"},
        service_tier="auto", cache_control={"type": "ephemeral"},
        extra_body={"context_management": {"edits": [{"type": "clear_thinking_20251015"}]}})
    assert set(upstreams.last_body(GPT)) == {"model", "messages", "max_completion_tokens"}


@pytest.mark.parametrize("extra,named", [
    ({"extra_body": {"top_k": 5}}, "top_k"),
    ({"extra_body": {"mcp_servers": [{"type": "url", "url": "https://mcp.example.com",
                                      "name": "x"}]}}, "mcp_servers"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools.0.type"),
    ({"extra_body": {"frobnicate": True}}, "frobnicate"),
    ({"messages": [{"role": "user", "content": "Greek for sun?"},
                   {"role": "assistant", "content": "The answer is"}]}, "messages.1"),
    ({"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}}]}]},
     "messages.0.content.0.source"),
])
def test_what_cannot_be_carried_is_a_400_naming_it(client, upstreams, extra, named):
    extra.setdefault("messages", HI)
    before = len(upstreams.openai.calls)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=GPT, max_tokens=64, **extra)
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert named in caught.value.body["error"]["message"]
    assert len(upstreams.openai.calls) == before  # refused before any upstream call


def test_a_document_and_a_tool_result_image_reach_openai(client, upstreams):
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    client.messages.create(model=GPT, max_tokens=64, tools=[WEATHER], messages=[
        {"role": "user", "content": "Show me."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                           "name": "get_weather", "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                {"type": "text", "text": "a map"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": PNG}}]},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                            "data": pdf}}]}])
    messages = upstreams.last_body(GPT)["messages"]
    assert messages[1]["tool_calls"][0]["function"] == {"name": "get_weather",
                                                        "arguments": '{"city": "Oslo"}'}
    assert messages[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "a map"}
    assert messages[3]["role"] == "user"
    assert [p["type"] for p in messages[3]["content"]] == ["image_url", "file"]
    assert messages[3]["content"][1]["file"]["file_data"] == f"data:application/pdf;base64,{pdf}"


def test_thinking_blocks_of_earlier_turns_are_left_out(client, upstreams):
    client.messages.create(model=GPT, max_tokens=64, messages=[
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "The user greets me.", "signature": "c2ln"},
            {"type": "text", "text": "Hello!"}]},
        {"role": "user", "content": "How are you?"}])
    assert upstreams.last_body(GPT)["messages"][1] == {"role": "assistant", "content": "Hello!"}


@pytest.mark.parametrize("model,tokens", [(GPT, (22, 10)), (GEMINI, (14, 8))])
def test_translated_answers_count_their_usage_on_the_key(client, proxy, model, tokens):
    client.messages.create(model=model, max_tokens=64, messages=HI)
    with client.messages.stream(model=model, max_tokens=64, messages=HI) as stream:
        stream.get_final_message()
    stats = [k["stats"] for k in proxy.admin("GET", "/api/keys").json()["keys"]
             if k["model"] == model][0]
    assert (stats["requests"], stats["successes"]) == (2, 2)
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == tokens


def test_browsers_may_read_the_proxys_headers(proxy):
    resp = proxy.messages({"model": GPT, "max_tokens": 64000, "messages": HI},
                          headers={"Origin": "https://app.example.com"})
    assert resp.status_code == 200
    exposed = resp.headers["Access-Control-Expose-Headers"].lower()
    assert "x-llm-proxy-max-tokens-capped" in exposed and "retry-after" in exposed
