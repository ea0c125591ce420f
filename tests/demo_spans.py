"""Test-side reading of demo batches: flatten OTLP requests into plain rows.

Deliberately independent of the exporter's normaliser: each helper reads the
few attribute names a test needs, per dialect, straight from the protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Status

from llmpulse.demo.traffic import Batch, Traffic


def value_of(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [value_of(x) for x in v.array_value.values]
    return getattr(v, which) if which else None


def attrs_of(item: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in item.attributes}


@dataclass
class Row:
    service: str
    resource: dict[str, Any]
    scope: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    error: bool
    attrs: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        a = self.attrs
        if "openinference.span.kind" in a:
            return "openinference"
        if "gen_ai.latency.e2e" in a:
            return "vllm"
        if "gen_ai.usage.cost" in a or "gen_ai.server.time_to_first_token" in a or a.get(
                "telemetry.sdk.name") == "openlit":
            return "openlit"
        if "llm.request.type" in a or "traceloop.span.kind" in a:
            return "openllmetry"
        if "gen_ai.system" in a and "gen_ai.operation.name" not in a:
            return "otel_legacy"
        if "gen_ai.operation.name" in a:
            return "otel"
        return "other"

    @property
    def is_llm(self) -> bool:
        a = self.attrs
        return (a.get("gen_ai.operation.name") in ("chat", "embeddings")
                or a.get("openinference.span.kind") in ("LLM", "EMBEDDING")
                or a.get("llm.request.type") in ("chat", "embedding")
                or self.dialect in ("otel_legacy", "vllm"))

    @property
    def provider(self) -> str:
        a = self.attrs
        raw = a.get("gen_ai.provider.name") or a.get("gen_ai.system") or a.get("llm.provider") or ""
        if self.dialect == "vllm":
            return "vllm"
        return {"Anthropic": "anthropic", "OpenAI": "openai", "MistralAI": "mistral_ai", "Google": "gcp.gemini",
                "AWS": "aws.bedrock", "gemini": "gcp.gemini"}.get(raw, raw)

    @property
    def model(self) -> str:
        a = self.attrs
        return a.get("gen_ai.request.model") or a.get("llm.model_name") or a.get("gen_ai.response.model") or ""

    @property
    def output_tokens(self) -> int | None:
        a = self.attrs
        for k in ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"):
            if k in a:
                return a[k]
        return None

    @property
    def ttft_s(self) -> float | None:
        a = self.attrs
        for k in ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token",
                  "gen_ai.latency.time_to_first_token"):
            if k in a:
                return a[k]
        for name, t, _ in self.events:
            if name in ("First Token Stream Event", "llm.content.completion.chunk"):
                return (t - self.start_ns) / 1e9
        return None

    @property
    def finish_reasons(self) -> list[str]:
        a = self.attrs
        if "gen_ai.response.finish_reasons" in a:
            return list(a["gen_ai.response.finish_reasons"])
        for k in ("gen_ai.completion.0.finish_reason", "llm.finish_reason"):
            if k in a:
                return [a[k]]
        return []

    def evals(self) -> list[tuple[str, float, str]]:
        out = [(e["gen_ai.evaluation.name"], e["gen_ai.evaluation.score.value"], e["gen_ai.evaluation.score.label"])
               for name, _, e in self.events if name == "gen_ai.evaluation.result"]
        i = 0
        while f"evaluations.{i}.evaluation.name" in self.attrs:
            a = self.attrs
            out.append((a[f"evaluations.{i}.evaluation.name"], a[f"evaluations.{i}.evaluation.score"],
                        a[f"evaluations.{i}.evaluation.label"]))
            i += 1
        return out


def rows(batch: Batch) -> list[Row]:
    out = []
    for rs in batch.traces.resource_spans:
        res = attrs_of(rs.resource)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(Row(service=res["service.name"], resource=res, scope=ss.scope.name, name=s.name,
                               kind=s.kind, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                               parent_span_id=s.parent_span_id.hex(), start_ns=s.start_time_unix_nano,
                               end_ns=s.end_time_unix_nano, error=s.status.code == Status.STATUS_CODE_ERROR,
                               attrs=attrs_of(s),
                               events=[(e.name, e.time_unix_nano, attrs_of(e)) for e in s.events]))
    return out


def log_evals(batch: Batch) -> list[tuple[str, str, float, str]]:
    """(service, eval name, score, label) from the batch's log records."""
    out = []
    if batch.logs is None:
        return out
    for rl in batch.logs.resource_logs:
        service = attrs_of(rl.resource)["service.name"]
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                a = attrs_of(rec)
                out.append((service, a["gen_ai.evaluation.name"], a["gen_ai.evaluation.score.value"],
                            a["gen_ai.evaluation.score.label"]))
    return out


NOW_NS = 1_800_000_000_000_000_000


def run(seed: int = 1, scenario: str | None = None, batches: int = 20, calls: int = 50,
        onset_s: float = 0.0) -> list[Batch]:
    """`batches` one-second ticks of traffic, from a fixed clock."""
    t = Traffic(seed=seed, scenario=scenario, onset_s=onset_s)
    return [t.batch(calls, NOW_NS + i * 1_000_000_000) for i in range(batches)]


def all_rows(batches: list[Batch]) -> list[Row]:
    return [r for b in batches for r in rows(b)]
