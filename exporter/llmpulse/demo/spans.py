"""Render one ground-truth `Op` as an OTLP span in its telemetry dialect.

Attribute names follow /work/shared/reference/telemetry-dialects.md: current
OTel GenAI, OTel v1.26, OpenLLMetry legacy, OpenInference, OpenLIT, vLLM.

>>> from llmpulse.demo.ops import Op
>>> op = Op(trace_id=b"\\x01" * 16, span_id=b"\\x02" * 8, service="s", operation="chat",
...         provider="openai", model="gpt-4o", response_model="gpt-4o-2024-08-06",
...         input_tokens=10, output_tokens=5, finish="stop", end_ns=10)
>>> span = render(op, {"service.name": "s"})
>>> span.name, attrs_of(span)["gen_ai.usage.input_tokens"]
('chat gpt-4o', 10)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from llmpulse.demo import catalog as C
from llmpulse.demo.ops import HTTP, Op

Attrs = list[tuple[str, Any]]

KIND_INTERNAL = Span.SPAN_KIND_INTERNAL
KIND_SERVER = Span.SPAN_KIND_SERVER
KIND_CLIENT = Span.SPAN_KIND_CLIENT


def any_value(value: Any) -> AnyValue:
    """Python value -> OTLP AnyValue (bool before int: bool is an int)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    return AnyValue(string_value=str(value))


def key_values(attrs: Iterable[tuple[str, Any]]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs if v is not None]


def value_of(v: AnyValue) -> Any:
    """OTLP AnyValue -> Python value (for tests and debugging)."""
    which = v.WhichOneof("value")
    if which == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which) if which else None


def attrs_of(item: Any) -> dict[str, Any]:
    """Attributes of a span, event, resource or log record as a dict."""
    return {kv.key: value_of(kv.value) for kv in item.attributes}


def _span_name(op: Op) -> str:
    if op.operation in ("chat", "embeddings"):
        return f"{op.operation} {op.model}"
    return f"{op.operation} {op.name}".strip()


def _ns(op: Op, seconds: float) -> int:
    return op.start_ns + int(seconds * 1e9)


def _finish_vocab(op: Op) -> list[str]:
    return [C.finish_value(op.provider, op.finish)] if op.finish else []


def _messages_in(op: Op) -> str:
    return json.dumps([{"role": "user", "parts": [{"type": "text", "content": op.input_text}]}])


def _messages_out(op: Op) -> str:
    return json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": op.output_text}],
                        "finish_reason": C.finish_value(op.provider, op.finish or "stop")}])


def _error_bits(span: Span, op: Op, attrs: Attrs, with_error_type: bool) -> None:
    """Status ERROR, `error.type` where the dialect has it, an `exception` event."""
    err = op.error
    if err is None:
        span.status.code = Status.STATUS_CODE_OK if op.dialect == C.OPENINFERENCE else Status.STATUS_CODE_UNSET
        return
    span.status.code = Status.STATUS_CODE_ERROR
    span.status.message = f"{err.exception_type.rsplit('.', 1)[-1]}: {err.message}"
    if with_error_type:
        attrs.append(("error.type", err.error_type))
    span.events.add(time_unix_nano=op.end_ns, name="exception", attributes=key_values([
        ("exception.type", err.exception_type),
        ("exception.message", err.message),
        ("exception.stacktrace", f"Traceback (most recent call last):\n  ...\n{err.exception_type}: {err.message}"),
        ("exception.escaped", False),
    ]))


def _eval_events(span: Span, op: Op) -> None:
    for ev in op.evals:
        if ev.channel != "span_event":
            continue
        span.events.add(time_unix_nano=op.end_ns, name="gen_ai.evaluation.result", attributes=key_values([
            ("gen_ai.evaluation.name", ev.name),
            ("gen_ai.evaluation.score.value", round(ev.score, 4)),
            ("gen_ai.evaluation.score.label", ev.label),
            ("gen_ai.response.id", op.response_id or None),
        ]))


def _guardrail(op: Op, attrs: Attrs) -> None:
    if op.guardrail:
        attrs += [(C.GUARDRAIL_ATTR, True), (C.GUARDRAIL_NAME_ATTR, op.guardrail)]


# --- current OTel GenAI (also the base of OpenLIT) -------------------------

def _otel_attrs(op: Op, attrs: Attrs, *, openlit: bool = False) -> None:
    attrs.append(("gen_ai.operation.name", op.operation))
    if op.provider:
        attrs.append(("gen_ai.provider.name", op.provider))
    if op.operation == "invoke_agent":
        attrs += [("gen_ai.agent.name", op.name), ("gen_ai.agent.id", f"agent_{op.name}")]
    elif op.operation == "invoke_workflow":
        attrs.append(("gen_ai.workflow.name", op.name))
    elif op.operation == "execute_tool":
        attrs += [("gen_ai.tool.name", op.name), ("gen_ai.tool.type", "function"),
                  ("gen_ai.tool.call.id", f"call_{op.span_id.hex()[:12]}")]
    elif op.operation == "retrieval":
        attrs += [("gen_ai.data_source.id", op.name), ("gen_ai.request.top_k", 5.0)]
    if op.model:
        attrs.append(("gen_ai.request.model", op.model))
    if op.is_llm:
        if op.operation == "chat":
            attrs += [("gen_ai.request.max_tokens", op.max_tokens), ("gen_ai.request.temperature", op.temperature)]
        if op.operation == "chat" and (op.stream or op.variant % 2):
            attrs.append(("gen_ai.request.stream", op.stream))
        attrs += [("server.address", C.SERVER_ADDRESS.get(op.provider, "localhost")), ("server.port", 443)]
    if op.is_llm and op.error is None:
        attrs += [("gen_ai.response.model", op.response_model), ("gen_ai.response.id", op.response_id or None)]
        if op.operation == "chat":
            attrs.append(("gen_ai.response.finish_reasons", _finish_vocab(op)))
        attrs.append(("gen_ai.usage.input_tokens", op.input_tokens))
        if op.operation == "chat":
            attrs.append(("gen_ai.usage.output_tokens", op.output_tokens))
        if op.cache_read_tokens:
            attrs.append(("gen_ai.usage.cache_read.input_tokens", op.cache_read_tokens))
        if op.cache_write_tokens:
            key = "cache_write" if (op.variant % 3 == 0 and not openlit) else "cache_creation"
            attrs.append((f"gen_ai.usage.{key}.input_tokens", op.cache_write_tokens))
        if op.reasoning_tokens:
            attrs.append(("gen_ai.usage.reasoning.output_tokens", op.reasoning_tokens))
        if op.stream and op.ttft_s is not None:
            if openlit:
                gen_s = max(op.duration_s - op.ttft_s, 0.0)
                attrs += [("gen_ai.server.time_to_first_token", round(op.ttft_s, 6)),
                          ("gen_ai.server.time_per_output_token",
                           round(gen_s / max(op.output_tokens - 1, 1), 6))]
            else:
                attrs.append(("gen_ai.response.time_to_first_chunk", round(op.ttft_s, 6)))
    if op.conversation_id:
        attrs.append(("gen_ai.session.id" if openlit else "gen_ai.conversation.id", op.conversation_id))
    if op.input_text and op.variant % 2 == 0:
        attrs += [("gen_ai.input.messages", _messages_in(op))]
        if op.output_text and op.error is None:
            attrs += [("gen_ai.output.messages", _messages_out(op))]
    if openlit and op.is_llm and op.error is None:
        attrs += [("gen_ai.usage.total_tokens", op.input_tokens + op.output_tokens),
                  ("gen_ai.usage.cost", round(op.cost_usd or 0.0, 8)),
                  ("telemetry.sdk.name", "openlit")]


def _render_otel(span: Span, op: Op, attrs: Attrs) -> None:
    span.kind = KIND_CLIENT if op.is_llm or op.operation == "retrieval" else KIND_INTERNAL
    _otel_attrs(op, attrs, openlit=op.dialect == C.OPENLIT)
    _error_bits(span, op, attrs, with_error_type=True)
    _eval_events(span, op)


# --- OTel v1.26 ------------------------------------------------------------

def _render_otel_legacy(span: Span, op: Op, attrs: Attrs) -> None:
    span.kind = KIND_CLIENT
    attrs += [("gen_ai.system", C.OTEL_OLD_SYSTEM[op.provider]), ("gen_ai.request.model", op.model),
              ("gen_ai.request.max_tokens", op.max_tokens), ("gen_ai.request.temperature", op.temperature)]
    if op.error is None:
        attrs += [("gen_ai.response.model", op.response_model), ("gen_ai.response.id", op.response_id or None),
                  ("gen_ai.response.finish_reasons", _finish_vocab(op)),
                  ("gen_ai.usage.prompt_tokens", op.input_tokens),
                  ("gen_ai.usage.completion_tokens", op.output_tokens)]
    span.events.add(time_unix_nano=op.start_ns, name="gen_ai.content.prompt",
                    attributes=key_values([("gen_ai.prompt", _messages_in(op))]))
    if op.error is None:
        span.events.add(time_unix_nano=op.end_ns, name="gen_ai.content.completion",
                        attributes=key_values([("gen_ai.completion", _messages_out(op))]))
    _error_bits(span, op, attrs, with_error_type=False)


# --- OpenLLMetry legacy ----------------------------------------------------

_TRACELOOP_KIND = {"invoke_workflow": "workflow", "invoke_agent": "agent", "execute_tool": "tool"}


def _render_openllmetry(span: Span, op: Op, attrs: Attrs) -> None:
    if op.conversation_id:
        attrs.append(("traceloop.association.properties.session_id", op.conversation_id))
    if op.operation in _TRACELOOP_KIND:
        kind = _TRACELOOP_KIND[op.operation]
        span.name = f"{op.name}.{kind}"
        span.kind = KIND_INTERNAL
        attrs += [("traceloop.span.kind", kind), ("traceloop.entity.name", op.name),
                  ("traceloop.entity.path", op.name)]
        if kind == "tool":
            attrs += [("traceloop.entity.input", json.dumps({"args": [], "kwargs": {"path": "src/app.py"}}))]
            if op.error is None:
                attrs.append(("traceloop.entity.output", json.dumps({"ok": True})))
        _error_bits(span, op, attrs, with_error_type=False)
        return
    span.kind = KIND_CLIENT
    prefix = C.OPENLLMETRY_PREFIX[op.provider]
    span.name = f"{prefix}.{'embeddings' if op.operation == 'embeddings' else 'chat'}"
    attrs += [("gen_ai.system", C.OPENLLMETRY_SYSTEM[op.provider]),
              ("llm.request.type", "embedding" if op.operation == "embeddings" else "chat"),
              ("gen_ai.request.model", op.model), ("gen_ai.request.max_tokens", op.max_tokens or None),
              ("gen_ai.request.temperature", op.temperature), ("llm.is_streaming", op.stream)]
    if op.mixed:  # a half-migrated package: the new names as well, same values
        attrs += [("gen_ai.provider.name", op.provider), ("gen_ai.operation.name", op.operation)]
    attrs += [("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", op.input_text)]
    if op.error is None:
        attrs += [("gen_ai.response.model", op.response_model), ("gen_ai.response.id", op.response_id or None),
                  ("gen_ai.usage.prompt_tokens", op.input_tokens),
                  ("gen_ai.usage.completion_tokens", op.output_tokens),
                  ("llm.usage.total_tokens", op.input_tokens + op.output_tokens)]
        if op.mixed:
            attrs += [("gen_ai.usage.input_tokens", op.input_tokens),
                      ("gen_ai.usage.output_tokens", op.output_tokens)]
        if op.cache_read_tokens:
            attrs.append(("gen_ai.usage.cache_read_input_tokens", op.cache_read_tokens))
        if op.cache_write_tokens:
            attrs.append(("gen_ai.usage.cache_creation_input_tokens", op.cache_write_tokens))
        if op.reasoning_tokens:
            attrs.append(("llm.usage.reasoning_tokens", op.reasoning_tokens))
        if op.operation == "chat":
            attrs += [("gen_ai.completion.0.role", "assistant"), ("gen_ai.completion.0.content", op.output_text),
                      ("gen_ai.completion.0.finish_reason", C.finish_value(op.provider, op.finish))]
        if op.stream and op.ttft_s is not None:
            event = C.FIRST_TOKEN_EVENT[C.OPENLLMETRY]
            span.events.add(time_unix_nano=_ns(op, op.ttft_s), name=event)
            span.events.add(time_unix_nano=_ns(op, op.ttft_s + (op.duration_s - op.ttft_s) / 2), name=event)
    _error_bits(span, op, attrs, with_error_type=op.mixed)


# --- OpenInference ---------------------------------------------------------

_OI_KIND = {"chat": "LLM", "embeddings": "EMBEDDING", "retrieval": "RETRIEVER", "execute_tool": "TOOL",
            "invoke_agent": "AGENT", "invoke_workflow": "CHAIN"}
_OI_NAME = {"chat": "ChatCompletion", "embeddings": "CreateEmbeddings", "retrieval": "retrieve"}


def _render_openinference(span: Span, op: Op, attrs: Attrs) -> None:
    span.kind = KIND_INTERNAL
    span.name = _OI_NAME.get(op.operation, op.name)
    attrs.append(("openinference.span.kind", _OI_KIND[op.operation]))
    if op.conversation_id:
        attrs += [("session.id", op.conversation_id), ("user.id", f"user-{op.conversation_id[-4:]}")]
    if op.input_text:
        attrs += [("input.value", op.input_text), ("input.mime_type", "text/plain")]
    if op.output_text and op.error is None:
        attrs += [("output.value", op.output_text), ("output.mime_type", "text/plain")]
    if op.operation == "retrieval":
        for i in range(3):
            attrs += [(f"retrieval.documents.{i}.document.id", f"kb-{(op.variant * 7 + i) % 500}"),
                      (f"retrieval.documents.{i}.document.score", round(0.9 - 0.07 * i, 3))]
    elif op.operation == "execute_tool":
        attrs.append(("tool.name", op.name))
    elif op.operation == "invoke_agent":
        attrs.append(("agent.name", op.name))
    if op.is_llm:
        attrs += [("llm.provider", C.OPENINFERENCE_PROVIDER[op.provider]),
                  ("llm.system", C.OPENINFERENCE_SYSTEM[op.provider])]
        params: dict[str, Any] = {"model": op.model}
        if op.operation == "chat":
            params.update(temperature=op.temperature, max_tokens=op.max_tokens, stream=op.stream)
        attrs.append(("llm.invocation_parameters", json.dumps(params)))
        if op.operation == "embeddings":
            attrs.append(("embedding.model_name", op.model))
        if op.error is None:
            # llm.model_name is the response model; the request model is only in
            # the invocation parameters (the exporter has to look there).
            attrs += [("llm.model_name", op.response_model),
                      ("llm.token_count.prompt", op.input_tokens)]
            if op.operation == "chat":
                attrs += [("llm.token_count.completion", op.output_tokens),
                          ("llm.token_count.total", op.input_tokens + op.output_tokens)]
            if op.cache_read_tokens:
                attrs.append(("llm.token_count.prompt_details.cache_read", op.cache_read_tokens))
            if op.cache_write_tokens:
                attrs.append(("llm.token_count.prompt_details.cache_write", op.cache_write_tokens))
            if op.reasoning_tokens:
                attrs.append(("llm.token_count.completion_details.reasoning", op.reasoning_tokens))
            if op.cost_usd is not None:
                attrs.append(("llm.cost.total", round(op.cost_usd, 8)))
            if op.operation == "chat":
                attrs += [("llm.finish_reason", C.finish_value(op.provider, op.finish)),
                          ("llm.input_messages.0.message.role", "user"),
                          ("llm.input_messages.0.message.content", op.input_text),
                          ("llm.output_messages.0.message.role", "assistant"),
                          ("llm.output_messages.0.message.content", op.output_text)]
        else:
            attrs.append(("llm.model_name", op.model))
        if op.mixed:  # bridged: the OTel names too, same numbers (count once)
            attrs += [("gen_ai.operation.name", op.operation), ("gen_ai.provider.name", op.provider),
                      ("gen_ai.request.model", op.model)]
            if op.error is None:
                attrs += [("gen_ai.usage.input_tokens", op.input_tokens),
                          ("gen_ai.usage.output_tokens", op.output_tokens)]
        if op.stream and op.ttft_s is not None and op.error is None:
            span.events.add(time_unix_nano=_ns(op, op.ttft_s), name=C.FIRST_TOKEN_EVENT[C.OPENINFERENCE])
    i = 0
    for ev in op.evals:
        if ev.channel == "attributes":
            attrs += [(f"evaluations.{i}.evaluation.name", ev.name),
                      (f"evaluations.{i}.evaluation.score", round(ev.score, 4)),
                      (f"evaluations.{i}.evaluation.label", ev.label)]
            i += 1
    _error_bits(span, op, attrs, with_error_type=False)


# --- vLLM server span ------------------------------------------------------

def _render_vllm(span: Span, op: Op, attrs: Attrs) -> None:
    span.kind = KIND_SERVER
    span.name = "llm_request"
    attrs += [("gen_ai.response.model", op.response_model), ("gen_ai.request.id", op.response_id),
              ("gen_ai.request.max_tokens", op.max_tokens), ("gen_ai.request.temperature", op.temperature),
              ("gen_ai.request.top_p", 1.0), ("gen_ai.request.n", 1)]
    if op.error is not None:   # aborted: end-to-end latency only, no usage
        attrs.append(("gen_ai.latency.e2e", round(op.duration_s, 6)))
        _error_bits(span, op, attrs, with_error_type=False)
        return
    ttft = op.ttft_s or 0.0
    queue = min(0.002 + op.variant % 7 * 0.003, ttft / 2)
    e2e = op.duration_s
    attrs += [("gen_ai.usage.prompt_tokens", op.input_tokens),
              ("gen_ai.usage.completion_tokens", op.output_tokens),
              ("gen_ai.latency.time_in_queue", round(queue, 6)),
              ("gen_ai.latency.time_to_first_token", round(ttft, 6)),
              ("gen_ai.latency.e2e", round(e2e, 6)),
              ("gen_ai.latency.time_in_model_prefill", round(ttft - queue, 6)),
              ("gen_ai.latency.time_in_model_decode", round(e2e - ttft, 6)),
              ("gen_ai.latency.time_in_model_inference", round(e2e - queue, 6))]
    _error_bits(span, op, attrs, with_error_type=False)


# --- plain HTTP client span (not GenAI) -----------------------------------

def _render_http(span: Span, op: Op, attrs: Attrs) -> None:
    span.kind = KIND_CLIENT
    span.name = "POST"
    host = op.url.split("/")[2]
    attrs += [("http.request.method", "POST"), ("url.full", op.url), ("server.address", host),
              ("server.port", 443 if op.url.startswith("https") else 8000),
              ("network.protocol.version", "1.1"), ("http.response.status_code", op.http_status)]
    if op.http_status >= 400:
        span.status.code = Status.STATUS_CODE_ERROR
        attrs.append(("error.type", str(op.http_status)))


_RENDER = {C.OTEL: _render_otel, C.OPENLIT: _render_otel, C.OTEL_LEGACY: _render_otel_legacy,
           C.OPENLLMETRY: _render_openllmetry, C.OPENINFERENCE: _render_openinference,
           C.VLLM: _render_vllm}


def render(op: Op, resource: Mapping[str, Any], copy_resource: bool = False) -> Span:
    """One span for `op`. `resource` holds its resource attributes; with
    `copy_resource` a processor has copied them onto the span as well."""
    span = Span(trace_id=op.trace_id, span_id=op.span_id, parent_span_id=op.parent_span_id,
                name=_span_name(op), start_time_unix_nano=op.start_ns, end_time_unix_nano=op.end_ns,
                flags=0x100 | 0x01)
    attrs: Attrs = []
    if op.operation == HTTP:
        _render_http(span, op, attrs)
    else:
        _RENDER[op.dialect](span, op, attrs)
        if op.prompt_version:
            attrs.append((C.PROMPT_VERSION_ATTR, op.prompt_version))
        if op.retry and op.dialect != C.VLLM:
            attrs.append((C.RETRY_ATTR, True))
        if op.service_tier:
            attrs.append((C.SERVICE_TIER_ATTR, op.service_tier))
        _guardrail(op, attrs)
    if copy_resource:
        attrs += list(resource.items())
    elif op.dialect == C.OPENLIT and op.operation != HTTP:  # OpenLIT copies these itself
        attrs += [("service.name", op.service), ("deployment.environment", resource.get("deployment.environment"))]
    span.attributes.extend(key_values(attrs))
    return span
