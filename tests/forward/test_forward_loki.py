"""Call log lines pushed to Loki, checked by a local server against the push API.

The documented shape (https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs):
POST /loki/api/v1/push, Content-Type: application/json,
{"streams": [{"stream": {"<label>": "<value>"}, "values": [["<unix ns>", "<line>"]]}]}
"""

from __future__ import annotations

import json
import time

import jsonschema
import pytest

from llmpulse.call_log import ContentPolicy, call_line
from llmpulse.config import ForwardConfig, LokiContentConfig, LokiForwardConfig
from llmpulse.forward import Forwarder
from llmpulse.records import Call, Eval

PUSH_SCHEMA = {
    "type": "object",
    "required": ["streams"],
    "additionalProperties": False,
    "properties": {"streams": {"type": "array", "minItems": 1, "items": {
        "type": "object",
        "required": ["stream", "values"],
        "additionalProperties": False,
        "properties": {
            "stream": {"type": "object", "minProperties": 1,
                       "propertyNames": {"pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"},
                       "additionalProperties": {"type": "string"}},
            "values": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 2, "maxItems": 2,
                "prefixItems": [{"type": "string", "pattern": "^[0-9]{1,19}$"}, {"type": "string"}]}},
        }}}},
}
LINE_FIELDS = {"trace_id", "span_id", "service", "provider", "model", "operation", "kind", "tokens",
               "cost_usd", "latency_s", "ttft_s", "finish_reasons", "error_type", "evals"}
ALLOWED_LABELS = {"job", "service_name", "gen_ai_provider_name", "level"}


T0 = time.time_ns() - 60 * 10**9  # a minute ago: recent enough for Loki


def make_call(k: int, **kw) -> Call:
    base = dict(trace_id=f"{k:032x}", span_id=f"{k:016x}", service="chatbot", provider="openai",
                request_model="gpt-4o", response_model="gpt-4o-2024-08-06",
                start_ns=T0 + k, end_ns=T0 + 1_500_000_000 + k,
                input_tokens=100 + k, output_tokens=20, cache_read_tokens=50, reasoning_tokens=5,
                ttft_s=0.25, finish_reasons=("stop",), cost_usd=0.0012,
                evals=[Eval(name="relevance", score=0.9, label="pass")],
                input_text="My email is alice@example.com", output_text="Noted.")
    base.update(kw)
    return Call(**base)


def pushed_lines(receiver) -> list[tuple[dict, str, dict]]:
    out = []
    for req in receiver.requests:
        assert req.path == "/loki/api/v1/push"
        assert req.headers["content-type"] == "application/json"
        body = json.loads(req.body)
        jsonschema.validate(body, PUSH_SCHEMA)
        for stream in body["streams"]:
            assert set(stream["stream"]) <= ALLOWED_LABELS
            for ts, line in stream["values"]:
                out.append((stream["stream"], ts, json.loads(line)))
    return out


def loki_forwarder(url: str, registry, content: LokiContentConfig | None = None, **kw) -> Forwarder:
    cfg = LokiForwardConfig(url=url, content=content or LokiContentConfig(),
                            batch_interval_seconds=0.05, **kw)
    return Forwarder(ForwardConfig(loki=cfg), registry)


def test_push_format_and_line_fields(receiver, registry, helpers) -> None:
    calls = [make_call(1), make_call(2, provider="anthropic", request_model="claude-sonnet-4"),
             make_call(3, error_type="timeout", finish_reasons=("error",), output_text=None)]
    fwd = loki_forwarder(receiver.url, registry)
    fwd.start()
    try:
        fwd.submit_calls(calls)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="loki") == 3,
                           "three lines pushed")
    finally:
        fwd.stop(5)
    lines = pushed_lines(receiver)
    assert len(lines) == 3
    by_trace = {line["trace_id"]: (labels, ts, line) for labels, ts, line in lines}
    labels, ts, line = by_trace[f"{1:032x}"]
    assert labels == {"job": "llmpulse", "service_name": "chatbot",
                      "gen_ai_provider_name": "openai", "level": "info"}
    assert ts == str(T0 + 1_500_000_000 + 1)  # the span's end time
    assert LINE_FIELDS <= set(line)
    assert line["span_id"] == f"{1:016x}" and line["model"] == "gpt-4o"
    assert line["tokens"] == {"input": 101, "output": 20, "cache_read": 50, "cache_write": 0,
                              "reasoning": 5}
    assert line["latency_s"] == 1.5 and line["ttft_s"] == 0.25 and line["cost_usd"] == 0.0012
    assert line["evals"] == [{"name": "relevance", "score": 0.9, "label": "pass"}]
    # Content capture is off by default: no text, even though the calls carry some.
    assert all("prompt" not in ln and "completion" not in ln for _, _, ln in lines)
    assert "alice@example.com" not in b"".join(r.body for r in receiver.requests).decode()
    err_labels, _, err_line = by_trace[f"{3:032x}"]
    assert err_labels["level"] == "error" and err_line["error_type"] == "timeout"
    assert by_trace[f"{2:032x}"][0]["gen_ai_provider_name"] == "anthropic"


def test_content_kept_for_errors_and_redacted(receiver, registry, helpers) -> None:
    content = LokiContentConfig(enabled=True, sample_rate=0.0)
    calls = [make_call(1),  # ordinary, not sampled: no text
             make_call(2, error_type="rate_limit",
                       input_text="Call +1 415 555 0132, key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA"),
             make_call(3, guardrail=True),
             make_call(4, evals=[Eval(name="faithfulness", score=0.1)])]
    fwd = loki_forwarder(receiver.url, registry, content=content)
    fwd.start()
    try:
        fwd.submit_calls(calls)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="loki") == 4,
                           "four lines pushed")
    finally:
        fwd.stop(5)
    raw = b"".join(r.body for r in receiver.requests).decode()
    for secret in ("alice@example.com", "415 555 0132", "sk-ant-api03"):
        assert secret not in raw
    lines = {ln["trace_id"]: ln for _, _, ln in pushed_lines(receiver)}
    assert "prompt" not in lines[f"{1:032x}"]
    assert lines[f"{2:032x}"]["prompt"] == "Call [REDACTED:phone], key [REDACTED:api_key]"
    assert lines[f"{2:032x}"]["content_reason"] == "error"
    assert lines[f"{3:032x}"]["content_reason"] == "guardrail"
    assert lines[f"{3:032x}"]["prompt"] == "My email is [REDACTED:email]"
    assert lines[f"{4:032x}"]["content_reason"] == "low_score"


def test_label_values_are_capped(receiver, registry, helpers) -> None:
    fwd = loki_forwarder(receiver.url, registry, max_label_values=2)
    fwd.start()
    try:
        fwd.submit_calls([make_call(k, service=f"svc-{k}") for k in range(1, 5)])
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="loki") == 4,
                           "four lines")
    finally:
        fwd.stop(5)
    services = sorted(labels["service_name"] for labels, _, _ in pushed_lines(receiver))
    assert services == ["__overflow__", "__overflow__", "svc-1", "svc-2"]


def test_loki_down_then_back(registry, helpers) -> None:
    port = helpers.free_port()
    fwd = loki_forwarder(f"http://127.0.0.1:{port}", registry, queue_max_lines=5,
                         batch_max_lines=2, max_retries=10_000, backoff_initial_seconds=0.02,
                         backoff_max_seconds=0.1)
    fwd.start()
    receiver = None
    try:
        fwd.submit_calls([make_call(1), make_call(2)])
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_retries_total", sink="loki") >= 2,
                           "retries against dead Loki")
        fwd.submit_calls([make_call(k) for k in range(3, 13)])  # 5 queued, 5 dropped
        assert helpers.metric(registry, "llmpulse_forward_dropped_total", sink="loki",
                              reason="queue_full") == 5
        receiver = helpers.Receiver(port).start()
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="loki") == 7,
                           "delivery resumed")
    finally:
        fwd.stop(5)
        if receiver is not None:
            receiver.stop()
    traces = sorted(ln["trace_id"] for _, _, ln in pushed_lines(receiver))
    assert traces == sorted(f"{k:032x}" for k in range(1, 8))


def test_loki_400_not_retried(receiver, registry, helpers) -> None:
    receiver.script.append((400, {}))
    fwd = loki_forwarder(receiver.url, registry, backoff_initial_seconds=0.01)
    fwd.start()
    try:
        fwd.submit_calls([make_call(1)])
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_dropped_total", sink="loki",
                                                  reason="rejected") == 1, "rejection counted")
    finally:
        fwd.stop(5)
    assert receiver.count() == 1
    assert helpers.metric(registry, "llmpulse_forward_retries_total", sink="loki") == 0


# --- the content policy on its own -------------------------------------------------

def policy(**kw) -> ContentPolicy:
    base = dict(sample_rate=0.0, max_chars=4000, always_on_error=True, always_on_low_score=True,
                low_score_threshold=0.5, always_on_guardrail=True)
    base.update(kw)
    return ContentPolicy(**base)


def test_sampling_is_by_trace_id() -> None:
    p = policy(sample_rate=0.5)
    low = make_call(1, trace_id="0" * 16 + "1" * 16)      # fraction ~0.07 -> kept
    high = make_call(2, trace_id="0" * 16 + "f" * 16)     # fraction ~1.0 -> not kept
    assert call_line(low, p)["content_reason"] == "sampled"
    assert "prompt" not in call_line(high, p)
    assert "prompt" in call_line(make_call(3), policy(sample_rate=1.0))


def test_always_switches_can_be_turned_off() -> None:
    p = policy(always_on_error=False, always_on_guardrail=False, always_on_low_score=False)
    for call in (make_call(1, error_type="x"), make_call(2, guardrail=True),
                 make_call(3, evals=[Eval(name="q", score=0.0)])):
        assert "prompt" not in call_line(call, p)


def test_fail_label_counts_as_low_score() -> None:
    call = make_call(1, evals=[Eval(name="toxicity", label="fail")])
    assert call_line(call, policy())["content_reason"] == "low_score"


def test_text_is_cut_to_max_chars_after_redaction() -> None:
    p = policy(sample_rate=1.0, max_chars=20)
    line = call_line(make_call(1, input_text="bob@example.com " + "x" * 100), p)
    assert line["prompt"] == "[REDACTED:email] xxx"
    assert line["content_truncated"] is True


def test_huge_text_cut_before_redaction_never_leaks_a_split_secret() -> None:
    # Text past 8 * max_chars + 4096 is cut before redaction. Long bearer tokens
    # shrink a lot when redacted, so the cut point ends up inside max_chars; the
    # cut falls inside a card number, whose head must not reach the line.
    max_chars = 1000
    limit = max_chars * 8 + 4096
    parts, total = [], 0
    while total < limit - 8 - 2100:
        parts.append("Bearer " + "t" * 1000 + " ")
        total += len(parts[-1])
    rest = limit - 8 - total
    parts.append("Bearer " + "t" * (rest - 8) + " ")
    text = "".join(parts) + "4111 1111 1111 1111 tail"
    assert text[limit - 8:limit] == "4111 111"
    line = call_line(make_call(1, input_text=text), policy(sample_rate=1.0, max_chars=max_chars))
    assert "[REDACTED:bearer_token]" in line["prompt"]
    assert len(line["prompt"]) < max_chars
    assert "4111" not in line["prompt"]
    assert line["content_truncated"] is True


def test_timestamps_loki_would_refuse_become_now() -> None:
    from llmpulse.call_log import timestamp_ns
    now = 2_000_000_000 * 10**9
    ok = make_call(1, start_ns=now - 20 * 10**9, end_ns=now - 10 * 10**9)
    assert timestamp_ns(ok, now) == now - 10 * 10**9
    for start, end in [(0, 0), (now - 7200 * 10**9, now - 7100 * 10**9),
                       (now + 3600 * 10**9, now + 3601 * 10**9)]:
        assert timestamp_ns(make_call(2, start_ns=start, end_ns=end), now) == now


def test_nan_and_inf_become_null() -> None:
    line = call_line(make_call(1, cost_usd=float("nan"), ttft_s=float("inf")), None)
    assert line["cost_usd"] is None and line["ttft_s"] is None
    json.dumps(line, allow_nan=False)


@pytest.mark.parametrize("bad", [
    dict(labels={"service_name": "x"}), dict(labels={"bad-name": "x"}), dict(url="loki:3100"),
    dict(batch_max_lines=0), dict(queue_max_lines=0), dict(backoff_initial_seconds=5,
                                                            backoff_max_seconds=1),
])
def test_invalid_loki_config_is_rejected(bad) -> None:
    with pytest.raises(ValueError):
        LokiForwardConfig(**bad)


@pytest.mark.parametrize("bad", [dict(sample_rate=1.5), dict(max_chars=0),
                                 dict(extra_redact_patterns=["("])])
def test_invalid_content_config_is_rejected(bad) -> None:
    with pytest.raises(ValueError):
        LokiContentConfig(**bad)


@pytest.mark.parametrize("bad", [dict(compression="zstd"), dict(endpoint="tempo:4318"),
                                 dict(max_batch_bytes=0), dict(timeout_seconds=0)])
def test_invalid_otlp_config_is_rejected(bad) -> None:
    from llmpulse.config import OtlpForwardConfig
    with pytest.raises(ValueError):
        OtlpForwardConfig(**bad)


def test_urls() -> None:
    from llmpulse.forward import loki_push_url, otlp_traces_url
    assert otlp_traces_url("http://tempo:4318") == "http://tempo:4318/v1/traces"
    assert otlp_traces_url("http://tempo:4318/") == "http://tempo:4318/v1/traces"
    assert otlp_traces_url("https://x/otlp/v1/traces") == "https://x/otlp/v1/traces"
    assert loki_push_url("http://loki:3100") == "http://loki:3100/loki/api/v1/push"
    assert loki_push_url("http://loki:3100/loki/api/v1/push") == "http://loki:3100/loki/api/v1/push"


def test_defaults_are_off() -> None:
    cfg = ForwardConfig()
    assert cfg.otlp.endpoint == "" and cfg.loki.url == "" and cfg.loki.content.enabled is False
