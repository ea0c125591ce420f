"""One structured log line per LLM call, for Loki.

A line is compact JSON; its stream labels are few and bounded (static labels
from the configuration plus ``service_name``, ``gen_ai_provider_name`` and
``level``), everything with many values (trace id, model, tokens, cost) is in
the line itself, where LogQL's ``| json`` reads it.

>>> from llmpulse.records import Call
>>> call = Call(trace_id="0af7651916cd43dd8448eb211c80319c", span_id="b7ad6b7169203331",
...             service="chatbot", provider="openai", request_model="gpt-4o",
...             start_ns=1_000_000_000, end_ns=2_500_000_000, input_tokens=12, output_tokens=30)
>>> line = call_line(call, content=None)
>>> line["trace_id"], line["latency_s"], line["tokens"]["input"]
('0af7651916cd43dd8448eb211c80319c', 1.5, 12)

Prompt and completion text is added only when a ``ContentPolicy`` says so
(content capture on, and the call sampled, failed, scored low or tripped a
guardrail), after redaction.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from llmpulse.records import Call
from llmpulse.redact import redact

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DYNAMIC_LABELS = ("service_name", "gen_ai_provider_name", "level")
OVERFLOW = "__overflow__"

# Why a call's text was kept (the `content_reason` field of the line).
REASON_ERROR = "error"
REASON_GUARDRAIL = "guardrail"
REASON_LOW_SCORE = "low_score"
REASON_SAMPLED = "sampled"

# Text beyond this many characters times max_chars is cut before redaction
# (bounds the regex work per call); the cut tail is discarded, see content_text.
PRE_CUT_FACTOR = 8
PRE_CUT_SLACK_CHARS = 4096
PARTIAL_TAIL_CHARS = 64


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 9)


def call_level(call: Call, low_score_threshold: float) -> str:
    """``error`` for failed calls, ``warn`` for guardrail/refusal/low score, else ``info``."""
    if call.is_error:
        return "error"
    if call.guardrail or call.refusal or _low_score(call, low_score_threshold):
        return "warn"
    return "info"


def _low_score(call: Call, threshold: float) -> bool:
    for ev in call.evals:
        if ev.score is not None and math.isfinite(ev.score) and ev.score < threshold:
            return True
        if ev.label.lower() == "fail":
            return True
    return False


def call_line(call: Call, content: "ContentPolicy | None", low_score_threshold: float = 0.5) -> dict:
    """The JSON object logged for ``call`` (content included only if ``content`` allows)."""
    line: dict = {
        "trace_id": call.trace_id,
        "span_id": call.span_id,
        "service": call.service,
        "provider": call.provider,
        "model": call.request_model,
        "response_model": call.response_model,
        "operation": call.operation,
        "kind": call.kind,
        "tokens": {
            "input": call.input_tokens,
            "output": call.output_tokens,
            "cache_read": call.cache_read_tokens,
            "cache_write": call.cache_write_tokens,
            "reasoning": call.reasoning_tokens,
        },
        "cost_usd": _num(call.cost_usd),
        "latency_s": _num(call.duration_s),
        "ttft_s": _num(call.ttft_s),
        "streaming": call.streaming,
        "finish_reasons": list(call.finish_reasons),
        "error_type": call.error_type,
        "evals": [{"name": e.name, "score": _num(e.score), "label": e.label} for e in call.evals],
        "guardrail": call.guardrail,
        "refusal": call.refusal,
    }
    if call.error_raw:
        line["error_raw"] = call.error_raw      # error_type is its normalised class
    if call.agent_name:
        line["agent"] = call.agent_name
    if call.tool_name:
        line["tool"] = call.tool_name
    if call.prompt_version:
        line["prompt_version"] = call.prompt_version
    if content is not None:
        reason = content.reason_to_keep(call)
        if reason is not None:
            prompt, cut_p = content.text(call.input_text)
            completion, cut_c = content.text(call.output_text)
            if prompt is not None:
                line["prompt"] = prompt
            if completion is not None:
                line["completion"] = completion
            if prompt is not None or completion is not None:
                line["content_reason"] = reason
                line["content_truncated"] = cut_p or cut_c
    return line


def encode_line(line: Mapping) -> str:
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass
class ContentPolicy:
    """Decides whether a call's prompt/completion text goes into its log line."""

    sample_rate: float
    max_chars: int
    always_on_error: bool
    always_on_low_score: bool
    low_score_threshold: float
    always_on_guardrail: bool
    extra_patterns: list["re.Pattern[str]"] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def reason_to_keep(self, call: Call) -> str | None:
        if call.input_text is None and call.output_text is None:
            return None
        if self.always_on_error and call.is_error:
            return REASON_ERROR
        if self.always_on_guardrail and (call.guardrail or call.refusal):
            return REASON_GUARDRAIL
        if self.always_on_low_score and _low_score(call, self.low_score_threshold):
            return REASON_LOW_SCORE
        if self.sampled(call.trace_id):
            return REASON_SAMPLED
        return None

    def sampled(self, trace_id: str) -> bool:
        """Sampling by trace id: every call of a trace gets the same decision."""
        if self.sample_rate >= 1.0:
            return True
        if self.sample_rate <= 0.0:
            return False
        try:
            fraction = int(trace_id[-16:], 16) / 2.0 ** 64
        except ValueError:
            fraction = self.rng.random()
        return fraction < self.sample_rate

    def text(self, raw: str | None) -> tuple[str | None, bool]:
        """Redacted text cut to max_chars; returns (text, was_cut).

        Very long text is first cut to a bounded size, the redaction run, and the
        last PARTIAL_TAIL_CHARS characters of the cut text dropped, so a secret
        split by the cut (and so no longer recognisable) cannot end up in the line.
        """
        if raw is None:
            return None, False
        limit = self.max_chars * PRE_CUT_FACTOR + PRE_CUT_SLACK_CHARS
        pre_cut = len(raw) > limit
        text = redact(raw[:limit] if pre_cut else raw, self.extra_patterns)
        if pre_cut:
            text = text[:-PARTIAL_TAIL_CHARS]
        if len(text) > self.max_chars:
            return text[: self.max_chars], True
        return text, pre_cut


class LabelCap:
    """Caps the distinct values per stream label; later values become __overflow__."""

    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self.seen: dict[str, set[str]] = {}

    def __call__(self, name: str, value: str) -> str:
        values = self.seen.setdefault(name, set())
        if value in values:
            return value
        if len(values) >= self.max_values:
            return OVERFLOW
        values.add(value)
        return value


def stream_labels(call: Call, static: Mapping[str, str], cap: LabelCap,
                  low_score_threshold: float) -> dict[str, str]:
    labels = dict(static)
    labels["service_name"] = cap("service_name", call.service or "unknown")
    labels["gen_ai_provider_name"] = cap("gen_ai_provider_name", call.provider or "unknown")
    labels["level"] = call_level(call, low_score_threshold)
    return labels


# Loki refuses lines far behind the newest line of their stream (1 h by default)
# or in the future; such calls are stamped with the time llmpulse pushes them.
MAX_LAG_SECONDS = 1800
MAX_LEAD_SECONDS = 60


def timestamp_ns(call: Call, now_ns: int | None = None) -> int:
    """The span's end time, or now when that is unusable for Loki."""
    now = time.time_ns() if now_ns is None else now_ns
    ts = call.end_ns or call.start_ns
    if not ts or ts < now - MAX_LAG_SECONDS * 10**9 or ts > now + MAX_LEAD_SECONDS * 10**9:
        return now
    return ts


def push_body(entries: Iterable[tuple[dict[str, str], int, str]]) -> dict:
    """Loki push API JSON body from (labels, timestamp_ns, line) entries.

    Shape (https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs):
    ``{"streams": [{"stream": {label: value}, "values": [["<ns>", "<line>"], ...]}]}``
    """
    streams: dict[tuple[tuple[str, str], ...], list[tuple[int, str]]] = {}
    for labels, ts, line in entries:
        streams.setdefault(tuple(sorted(labels.items())), []).append((ts, line))
    return {
        "streams": [
            {"stream": dict(key), "values": [[str(ts), line] for ts, line in sorted(values)]}
            for key, values in streams.items()
        ]
    }
