"""Shared by the scenario scripts, which run inside the capture's throwaway venv (not in the project's).

The capture script sets: OPENAI_BASE_URL, ANTHROPIC_BASE_URL (the fakes), OTEL_EXPORTER_OTLP_ENDPOINT
(the recorder), OTEL_SERVICE_NAME, CAPTURE_PARTS_FILE (where the parts that ran are written).

The fixed scenario, in order (each part a separate call, so expected figures stay separable):
  chat        gpt-4o-mini / claude-sonnet-4-5, a prompt marked #cached (cache reads)
  stream      streamed chat with usage (OpenAI: stream_options.include_usage)
  tool        one call offered a tool: the fake answers with a tool call
  embeddings  text-embedding-3-small, two inputs (OpenAI-compatible only)
  error       one call answered 500, one answered 429 (client retries off where the library allows)
  reasoning   o4-mini (reasoning tokens) where the library drives OpenAI chat
  agent       an agent with one tool: model call -> tool -> model call
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback

OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
ANTHROPIC_BASE_URL = os.environ.get("ANTHROPIC_BASE_URL", "")
OTLP = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").rstrip("/")
SERVICE = os.environ.get("OTEL_SERVICE_NAME", "capture")

CHAT_MODEL = "gpt-4o-mini"
REASONING_MODEL = "o4-mini"
EMBED_MODEL = "text-embedding-3-small"
CLAUDE = "claude-sonnet-4-5"
CLAUDE_SMALL = "claude-haiku-4-5"

SYSTEM = "You are a terse assistant."
CHAT_PROMPT = "What is the capital of France? #cached"
STREAM_PROMPT = "Write a haiku about monitoring."
TOOL_PROMPT = "What is the weather in Paris?"
EMBED_INPUTS = ["hello world", "monitoring llm apps"]
ERROR_500_PROMPT = "This call fails. #fail:500"
ERROR_429_PROMPT = "This call is throttled. #fail:429"
REASONING_PROMPT = "Think step by step: what is 2+2?"
AGENT_PROMPT = "Should I take an umbrella in Paris today?"
AGENT_INSTRUCTIONS = "You answer weather questions. Use the get_weather tool."

WEATHER_TOOL_SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                       "required": ["city"]}
OPENAI_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                                                "parameters": WEATHER_TOOL_SCHEMA}}
ANTHROPIC_TOOL = {"name": "get_weather", "description": "Current weather for a city", "input_schema": WEATHER_TOOL_SCHEMA}


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 21 C in {city}."


_parts: list[dict] = []


@contextlib.contextmanager
def part(name: str, expect_error: bool = False):
    """Run one scenario part; an expected error is swallowed, an unexpected one recorded (and the run goes on)."""
    entry = {"part": name, "ok": True}
    _parts.append(entry)
    try:
        yield
        if expect_error:
            entry.update(ok=False, note="expected an error, none was raised")
    except Exception as exc:            # noqa: BLE001 - a scenario reports, it does not stop
        if expect_error:
            entry["error"] = f"{type(exc).__module__}.{type(exc).__name__}"
        else:
            entry.update(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-2000:])
            print(f"[scenario] part {name} failed: {exc!r}", file=sys.stderr)


def write_parts(extra: dict | None = None) -> None:
    path = os.environ.get("CAPTURE_PARTS_FILE")
    if path:
        with open(path, "w") as f:
            json.dump({"parts": _parts, **(extra or {})}, f, indent=1)


def sdk_tracer_provider(set_global: bool = True):
    """An OTel SDK TracerProvider exporting OTLP/HTTP protobuf to the recorder (the default SDK path)."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tp = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=OTLP + "/v1/traces")))
    if set_global:
        trace.set_tracer_provider(tp)
    return tp


def sdk_logger_provider():
    """Log records (events) to the recorder, for libraries that emit GenAI events as logs."""
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    lp = LoggerProvider(resource=Resource.create({"service.name": SERVICE}))
    lp.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=OTLP + "/v1/logs")))
    set_logger_provider(lp)
    return lp


def openai_parts(client, *, reasoning: bool = True, embeddings: bool = True) -> None:
    """The plain-client parts with an `openai.OpenAI` client (max_retries=0 set by the caller)."""
    with part("chat"):
        client.chat.completions.create(model=CHAT_MODEL, messages=[
            {"role": "system", "content": SYSTEM}, {"role": "user", "content": CHAT_PROMPT}])
    with part("stream"):
        stream = client.chat.completions.create(model=CHAT_MODEL, stream=True, stream_options={"include_usage": True},
                                                messages=[{"role": "user", "content": STREAM_PROMPT}])
        for _ in stream:
            pass
    with part("tool"):
        client.chat.completions.create(model=CHAT_MODEL, tools=[OPENAI_TOOL],
                                       messages=[{"role": "user", "content": TOOL_PROMPT}])
    if embeddings:
        with part("embeddings"):
            client.embeddings.create(model=EMBED_MODEL, input=EMBED_INPUTS)
    with part("error", expect_error=True):
        client.chat.completions.create(model=CHAT_MODEL, messages=[{"role": "user", "content": ERROR_500_PROMPT}])
    with part("error", expect_error=True):
        client.chat.completions.create(model=CHAT_MODEL, messages=[{"role": "user", "content": ERROR_429_PROMPT}])
    if reasoning:
        with part("reasoning"):
            client.chat.completions.create(model=REASONING_MODEL,
                                           messages=[{"role": "user", "content": REASONING_PROMPT}])


def openai_agent_loop(client) -> None:
    """A hand-written agent (for libraries with no agent of their own): call -> tool -> call."""
    messages = [{"role": "system", "content": AGENT_INSTRUCTIONS}, {"role": "user", "content": AGENT_PROMPT}]
    first = client.chat.completions.create(model=CHAT_MODEL, tools=[OPENAI_TOOL], messages=messages)
    call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id,
                     "content": get_weather(**json.loads(call.function.arguments))})
    client.chat.completions.create(model=CHAT_MODEL, tools=[OPENAI_TOOL], messages=messages)


def anthropic_parts(client) -> None:
    """The plain-client parts with an `anthropic.Anthropic` client (max_retries=0 set by the caller)."""
    with part("chat"):
        client.messages.create(model=CLAUDE, max_tokens=256, system=SYSTEM,
                               messages=[{"role": "user", "content": CHAT_PROMPT}])
    with part("stream"):
        with client.messages.stream(model=CLAUDE_SMALL, max_tokens=256,
                                    messages=[{"role": "user", "content": STREAM_PROMPT + " #cache_write"}]) as s:
            for _ in s.text_stream:
                pass
    with part("tool"):
        client.messages.create(model=CLAUDE, max_tokens=256, tools=[ANTHROPIC_TOOL],
                               messages=[{"role": "user", "content": TOOL_PROMPT}])
    with part("error", expect_error=True):
        client.messages.create(model=CLAUDE, max_tokens=256, messages=[{"role": "user", "content": ERROR_500_PROMPT}])
    with part("error", expect_error=True):
        client.messages.create(model=CLAUDE, max_tokens=256, messages=[{"role": "user", "content": ERROR_429_PROMPT}])


def sdk_meter_provider():
    """OTLP metrics to the recorder (apps that send metrics beside spans; issue 12 item 8)."""
    from opentelemetry import metrics
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    mp = MeterProvider(resource=Resource.create({"service.name": SERVICE}), metric_readers=[
        PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=OTLP + "/v1/metrics"), export_interval_millis=60000)])
    metrics.set_meter_provider(mp)
    return mp


def shutdown(*providers) -> None:
    for p in providers:
        if p is not None:
            with contextlib.suppress(Exception):
                p.force_flush()
            with contextlib.suppress(Exception):
                p.shutdown()


def langchain_parts() -> None:
    """The parts with LangChain's ChatOpenAI / OpenAIEmbeddings and a LangGraph/LangChain agent."""
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings

    llm = ChatOpenAI(model=CHAT_MODEL, max_retries=0)

    @tool
    def get_weather_tool(city: str) -> str:
        """Current weather for a city."""
        return get_weather(city)

    with part("chat"):
        llm.invoke([("system", SYSTEM), ("user", CHAT_PROMPT)])
    with part("stream"):
        for _ in ChatOpenAI(model=CHAT_MODEL, max_retries=0, stream_usage=True).stream(STREAM_PROMPT):
            pass
    with part("tool"):
        llm.bind_tools([get_weather_tool]).invoke(TOOL_PROMPT)
    with part("embeddings"):
        OpenAIEmbeddings(model=EMBED_MODEL, check_embedding_ctx_length=False, max_retries=0).embed_documents(EMBED_INPUTS)
    with part("error", expect_error=True):
        llm.invoke(ERROR_500_PROMPT)
    with part("error", expect_error=True):
        llm.invoke(ERROR_429_PROMPT)
    with part("agent"):
        try:
            from langchain.agents import create_agent
            agent = create_agent(llm, [get_weather_tool], system_prompt=AGENT_INSTRUCTIONS)
        except ImportError:
            from langgraph.prebuilt import create_react_agent
            agent = create_react_agent(llm, [get_weather_tool], prompt=AGENT_INSTRUCTIONS)
        agent.invoke({"messages": [("user", AGENT_PROMPT)]})


def traceloop_init():
    from traceloop.sdk import Traceloop
    Traceloop.init(app_name=SERVICE, api_endpoint=OTLP, disable_batch=True, telemetry_enabled=False)
    return Traceloop
