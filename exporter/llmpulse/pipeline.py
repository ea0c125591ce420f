"""From a decoded request to metric updates: validate, dedupe, normalise, price, record.

A request is fully decoded and checked before anything is recorded, so a
malformed body never changes the metrics; invalid spans in an otherwise valid
batch are rejected one by one and the valid ones are kept.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from llmpulse import otlp, vocab
from llmpulse.config import Config
from llmpulse.costing import Costing, PriceMetrics
from llmpulse.dialects import Normalizer, SpanRejected, eval_from_attrs, score_problem
from llmpulse.metrics import Metrics
from llmpulse.records import LLM_OPERATIONS, Call, Eval
from llmpulse.tracking import Dedupe

HEX32 = re.compile(r"[0-9a-fA-F]{32}")
HEX16 = re.compile(r"[0-9a-fA-F]{16}")
MAX_MESSAGES = 5


@dataclass
class Outcome:
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_MESSAGES:
            self.errors.append(message)

    @property
    def message(self) -> str:
        if not self.errors:
            return ""
        more = self.rejected - len(self.errors)
        return "; ".join(self.errors) + (f" (and {more} more)" if more > 0 else "")


class Pipeline:
    # prices: a PriceTable or PriceChain; forwarder: a llmpulse.forward.Forwarder (Any: the pipeline imports
    # neither pricing nor forward, docs/architecture.md)
    def __init__(self, cfg: Config, metrics: Metrics, prices: Any = None, forwarder: Any = None,
                 capture_content: bool = False,
                 price_metrics: PriceMetrics | None = None):
        self.cfg = cfg
        self.metrics = metrics
        self.prices = prices        # a PriceTable or PriceChain; replaced whole when a price source refreshes
        self.costing = Costing(price_metrics)
        self.forwarder = forwarder
        self.use_span_cost = cfg.pricing.use_span_cost
        self.zero_span_cost_is_missing = cfg.pricing.zero_span_cost_is_missing
        self.normalizer = Normalizer(cfg, capture_content=capture_content)
        self.dedupe = Dedupe(cfg.tracking.dedupe_spans)
        self.dedupe_lock = threading.Lock()

    # -- traces -----------------------------------------------------------------
    def traces(self, body: bytes, content_type: str) -> Outcome:
        """Raises otlp.DecodeError for a malformed body (nothing recorded)."""
        spans = otlp.decode_traces(body, content_type, self.cfg.server.max_spans_per_request,
                                   self.normalizer.keys)
        out = self.spans(spans)
        if self.forwarder is not None and spans:
            self.forwarder.submit_traces(body, otlp.media_type(content_type))
            if out.calls:
                self.forwarder.submit_calls(out.calls)
        return out

    def spans(self, spans: list[otlp.RawSpan]) -> Outcome:
        out = Outcome()
        rejected: dict[str, int] | None = None
        non_genai = 0
        calls = []
        now_ns = time.time_ns()
        normalize = self.normalizer.normalize
        for s in spans:
            try:
                c = normalize(s, now_ns)
            except SpanRejected as exc:
                if rejected is None:
                    rejected = {}
                rejected[exc.reason] = rejected.get(exc.reason, 0) + 1
                out.reject(str(exc))
                continue
            if c is None:
                non_genai += 1
                continue
            calls.append(c)
        skipped: dict[str, int] = {"non_genai": non_genai} if non_genai else {}
        if calls:
            seen = self.dedupe.seen
            with self.dedupe_lock:
                fresh = [c for c in calls if not seen(c.trace_id, c.span_id)]
            if len(fresh) != len(calls):
                skipped["duplicate"] = len(calls) - len(fresh)
                calls = fresh
            price = self.price
            for c in calls:
                price(c)
        m = self.metrics
        suppressed = m.record(calls)
        if suppressed:            # calls reported twice: counted once, not forwarded twice
            skipped.update(suppressed)
            calls = [c for c in calls if not c.suppressed]
        clamped = 0
        for c in calls:
            if c.ttft_clamped:
                clamped += 1
        if rejected or skipped or clamped:
            with m.lock:
                if rejected:
                    for reason, n in rejected.items():
                        m.spans_rejected.inc((reason,), n)
                for reason, n in skipped.items():
                    m.spans_skipped.inc((reason,), n)
                if clamped:
                    m.clamped.inc(("ttft",), clamped)
            out.skipped = sum(skipped.values())
        out.accepted = len(calls)
        out.calls = calls
        return out

    def price(self, c: Call) -> None:
        """Set c.cost_usd: the span's own cost, else the price table's (calls, and other spans with tokens,
        which count as a call if their trace has none). A span cost of exactly 0 for a model the table
        prices is taken as unknown (pricing.zero_span_cost_is_missing)."""
        if c.operation not in LLM_OPERATIONS and not (c.input_tokens or c.output_tokens):
            return
        span_cost = c.span_cost_usd if self.use_span_cost else None
        if span_cost is not None and (span_cost > 0 or not self.zero_span_cost_is_missing):
            c.cost_usd = span_cost
            return
        c.cost_usd = span_cost            # 0 or None, unless the table prices it
        if self.prices is None or (c.input_tokens is None and c.output_tokens is None):
            return
        price = self.prices.lookup(c.provider, c.response_model)
        if price is None and c.request_model != c.response_model:
            price = self.prices.lookup(c.provider, c.request_model)
        if price is not None:
            if c.billing is None and not price.above:    # no pricing dimension: the plain formula
                c.cost_usd = price.cost(c.input_tokens or 0, c.output_tokens or 0, c.cache_read_tokens,
                                        c.cache_write_tokens, c.reasoning_tokens)
            else:                                        # llmpulse.costing: tiers, bands, modalities
                c.cost_usd = self.costing.cost(c, price)

    # -- logs (GenAI events) ------------------------------------------------------
    def logs(self, body: bytes, content_type: str) -> Outcome:
        records = otlp.decode_logs(body, content_type, self.cfg.server.max_spans_per_request)
        out = Outcome()
        items: list[tuple[str, str, Eval | bool]] = []
        other = 0
        for i, rec in enumerate(records):
            if rec.event_name != "gen_ai.evaluation.result":
                other += 1
                continue
            e = eval_from_attrs(rec.attrs)
            problem = score_problem(e.score, self.cfg.bounds.max_abs_score)
            if problem:
                out.reject(f"logRecords[{i}]: evaluation {e.name!r} score {problem}")
                self.metrics.count(self.metrics.scores_rejected, ("invalid_score",))
                continue
            if len(rec.trace_id) != 32:
                out.reject(f"logRecords[{i}]: evaluation {e.name!r} has no valid trace id")
                self.metrics.count(self.metrics.scores_rejected, ("invalid_id",))
                continue
            items.append((rec.trace_id, rec.span_id if len(rec.span_id) == 16 else "", e))
        self.metrics.record_scores(items, "otlp_logs")
        if other:
            self.metrics.count(self.metrics.logs_skipped, (), other)
        out.accepted = len(items)
        out.skipped = other
        return out

    # -- POST /v1/scores ---------------------------------------------------------
    def scores(self, body: bytes) -> Outcome:
        """Raises otlp.DecodeError when the body is not JSON of the right shape."""
        doc = otlp.loads(body)      # DecodeError when not JSON; lone surrogates made printable
        if isinstance(doc, dict) and "scores" in doc:
            doc = doc["scores"]
            prefix = "scores"
        else:
            prefix = "score"
        if isinstance(doc, dict):
            doc = [doc]
            single = True
        else:
            single = False
        if not isinstance(doc, list):
            raise otlp.DecodeError("body must be a score object, a list of them, or {\"scores\": [...]}")
        out = Outcome()
        items: list[tuple[str, str, Eval | bool]] = []
        reasons: dict[str, int] = {}
        for i, item in enumerate(doc):
            path = prefix if single else f"{prefix}[{i}]"
            try:
                items.append(parse_score(item, path, self.cfg.bounds.max_abs_score))
            except ScoreError as exc:
                reasons[exc.reason] = reasons.get(exc.reason, 0) + 1
                out.reject(str(exc))
        self.metrics.record_scores(items, "api")
        with self.metrics.lock:
            for reason, n in reasons.items():
                self.metrics.scores_rejected.inc((reason,), n)
        out.accepted = len(items)
        return out


class ScoreError(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _finite(value: int | float) -> bool:
    """math.isfinite, False for an int too large for a float (JSON integers have no bound)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def parse_score(item: Any, path: str, max_abs: float = math.inf) -> tuple[str, str, Eval | bool]:
    """One /v1/scores item -> (trace_id, span_id, Eval or feedback polarity).

    >>> parse_score({"trace_id": "a" * 32, "name": "feedback", "label": "thumbs_down"}, "s")
    ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '', False)
    """
    if not isinstance(item, dict):
        raise ScoreError("malformed", f"{path}: must be an object")
    trace_id = item.get("trace_id")
    if not isinstance(trace_id, str) or not HEX32.fullmatch(trace_id):
        raise ScoreError("invalid_id", f"{path}.trace_id: must be 32 hex characters")
    span_id = item.get("span_id") or ""
    if span_id and (not isinstance(span_id, str) or not HEX16.fullmatch(span_id)):
        raise ScoreError("invalid_id", f"{path}.span_id: must be 16 hex characters")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise ScoreError("malformed", f"{path}.name: must be a non-empty string (at most 256 characters)")
    value = item.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not _finite(value)):
        raise ScoreError("invalid_score", f"{path}.value: must be a finite number")
    problem = score_problem(float(value), max_abs) if value is not None else ""
    if problem:
        raise ScoreError("invalid_score", f"{path}.value {problem}")
    label = item.get("label")
    if label is not None and not isinstance(label, str):
        raise ScoreError("malformed", f"{path}.label: must be a string")
    kind = item.get("kind") or ("feedback" if name.strip().lower() in ("feedback", "user_feedback") else "eval")
    if kind not in ("eval", "feedback"):
        raise ScoreError("malformed", f"{path}.kind: must be \"eval\" or \"feedback\"")
    trace_id, span_id = trace_id.lower(), span_id.lower()
    if kind == "feedback":
        lab = (label or "").strip().lower()
        if lab in vocab.FEEDBACK_POSITIVE:
            return trace_id, span_id, True
        if lab in vocab.FEEDBACK_NEGATIVE:
            return trace_id, span_id, False
        if value is not None:
            return trace_id, span_id, value > 0
        raise ScoreError("malformed", f"{path}: feedback needs a value or a label (positive/negative)")
    if value is None and not label:
        raise ScoreError("malformed", f"{path}: an evaluation needs a value or a label")
    return trace_id, span_id, Eval(name=name.strip(), score=None if value is None else float(value),
                                   label=(label or "").strip().lower())
