"""Deterministic generator of realistic OTLP GenAI traffic for `llmpulse demo`.

Four applications (support-bot, search-api, coding-agent, batch-summarizer)
plus a self-hosted vLLM server send agent, RAG, tool and workflow traces in
six telemetry dialects, with streaming, errors, caching, reasoning tokens,
evaluations and user feedback. Everything comes from one seeded
`random.Random`: the same seed and the same `now_ns` values give
byte-identical batches.

>>> t = Traffic(seed=1)
>>> b = t.batch(20, now_ns=1_800_000_000_000_000_000)
>>> b.llm_calls >= 20 and b.span_count > b.llm_calls
True
>>> sorted(SCENARIOS)[0]
'cost_spike'
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, SeverityNumber

from llmpulse.demo import catalog as C
from llmpulse.demo.ops import HTTP, EvalTruth, Op
from llmpulse.demo.scenarios import ALL_SCENARIOS, SCENARIOS, Scenario
from llmpulse.demo.spans import key_values, render

__all__ = ["Batch", "SCENARIOS", "Traffic"]

BASE_ERROR_SHARE = 0.01          # fraction of LLM calls failing in normal traffic
TOOL_ERROR_SHARE = 0.005         # fraction of tool calls failing
REASONING_SHARE = 0.3            # fraction of calls to reasoning models that think
REASONING_MEDIAN_TOKENS = 120    # median reasoning tokens of a call that thinks
OUTPUT_SIGMA = 0.4               # lognormal sigma of output tokens
TTFT_SIGMA = 0.3                 # lognormal sigma of time to first token
CONTEXT_GROWTH_PER_TURN = 0.2    # agent prompts grow by this share of the first prompt per turn
MAX_CONTEXT_GROWTH = 3.0         # ... up to this factor
GUARDRAIL_SHARE = 0.015          # fraction of support-bot answers a guardrail blocks
JUDGE_SHARE = 0.25               # fraction of answers scored later by an async judge
FEEDBACK_SHARE = 0.08            # fraction of answers a user rates
NEGATIVE_FEEDBACK_SHARE = 0.05   # fraction of ratings that are thumbs down
MIXED_VOCAB_SHARE = 0.15         # fraction of spans carrying two vocabularies
LOG_SAFETY_SHARE = 0.2           # fraction of safety evals sent as log records
TRACE_END_JITTER_S = 1.0         # traces end up to this long before `now_ns`
TOOL_ERROR = C.ErrorKind("ToolExecutionError", "app.tools.ToolExecutionError", "tool failed: exit status 1",
                         None, 0.5)
HTTP_SCOPE = ("opentelemetry.instrumentation.httpx", "0.59b0")
EVAL_SCOPE = ("llmpulse.demo.evaluator", "0.1.0")


@dataclass
class Batch:
    """What one tick of the demo sends."""

    traces: ExportTraceServiceRequest
    logs: ExportLogsServiceRequest | None
    scores: list[dict]                       # body items for POST /v1/scores
    ops: list[Op] = field(default_factory=list)   # ground truth, one per span

    @property
    def span_count(self) -> int:
        return len(self.ops)

    @property
    def llm_calls(self) -> int:
        return sum(op.is_llm for op in self.ops)

    @property
    def log_count(self) -> int:
        if self.logs is None:
            return 0
        return sum(len(sl.log_records) for rl in self.logs.resource_logs for sl in rl.scope_logs)


@dataclass
class _Trace:
    """State while one trace is built; times are relative to its start."""

    svc: C.Service
    trace_id: bytes
    dialect: str
    sc: Scenario | None              # the active scenario, if it targets this service
    conversation: str = ""
    new_conversation: bool = False
    ops: list[Op] = field(default_factory=list)
    turn: int = 0


class Traffic:
    """Seeded traffic source; `batch()` returns complete traces.

    `n_calls` counts LLM calls (chat and embeddings). Traces are never split,
    so a batch may overshoot; the surplus is taken off the next batch and the
    long-run rate is exact. With `onset_s`, the scenario starts that many
    seconds after `start_ns` (baseline alerts need some normal history).
    """

    def __init__(self, seed: int = 1, scenario: str | None = None, start_ns: int | None = None,
                 onset_s: float = 0.0) -> None:
        if scenario is not None and scenario not in ALL_SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(ALL_SCENARIOS)}")
        self.rng = random.Random(seed)
        self.scenario: Scenario | None = ALL_SCENARIOS[scenario] if scenario else None
        self._elapsed_s = 0.0            # seconds since the scenario's onset (negative before it)
        self.start_ns = start_ns
        self.onset_ns = int(onset_s * 1e9)
        self._credit = 0
        self._batches = 0
        self._conversations: dict[str, list[list]] = {s.name: [] for s in C.SERVICES}
        self._pending_scores: list[tuple[int, dict]] = []

    # ---- public --------------------------------------------------------

    def scenario_active(self, now_ns: int) -> bool:
        if self.scenario is None:
            return False
        start = now_ns if self.start_ns is None else self.start_ns
        return now_ns - start >= self.onset_ns

    def rate_factor(self, now_ns: int) -> float:
        """Factor on the call rate at `now_ns` (night_lull, traffic_surge); 1 otherwise."""
        if self.scenario is None:
            return 1.0
        start = now_ns if self.start_ns is None else self.start_ns
        return self.scenario.rate_factor((now_ns - start - self.onset_ns) / 1e9)

    def batch(self, n_calls: int, now_ns: int) -> Batch:
        if self.start_ns is None:
            self.start_ns = now_ns
        active = self.scenario if self.scenario_active(now_ns) else None
        self._elapsed_s = (now_ns - self.start_ns - self.onset_ns) / 1e9
        need = n_calls - self._credit
        ops: list[Op] = []
        made = 0
        while made < need:
            trace_ops = self._trace(active)
            self._place(trace_ops, now_ns)
            made += sum(op.is_llm for op in trace_ops)
            ops.extend(trace_ops)
        self._credit = made - need if need > 0 else -need
        scores = [s for due, s in self._pending_scores if due <= self._batches]
        self._pending_scores = [(due, s) for due, s in self._pending_scores if due > self._batches]
        self._schedule_scores(ops, active)
        self._batches += 1
        return Batch(traces=_traces_request(ops), logs=_logs_request(ops), scores=scores, ops=ops)

    # ---- random helpers ------------------------------------------------

    def _lognormal(self, median: float, sigma: float) -> float:
        return self.rng.lognormvariate(math.log(median), sigma)

    def _weighted(self, pairs: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]

    def _tool_name(self, service: str) -> str:
        """Each of the service's tools equally often (`C.TOOLS` holds their median durations, not weights)."""
        return self._weighted(tuple((name, 1.0) for name, _median in C.TOOLS[service]))

    def _span_id(self) -> bytes:
        return self.rng.getrandbits(64).to_bytes(8, "big")

    def _hex(self, n: int) -> str:
        return self.rng.getrandbits(4 * n).to_bytes((n + 1) // 2, "big").hex()[:n]

    def _text(self, templates: tuple[str, ...]) -> str:
        return self.rng.choice(templates).format(email=self.rng.choice(C.EMAILS), n=self.rng.randrange(10000, 99999))

    # ---- trace shapes --------------------------------------------------

    def _trace(self, active: Scenario | None) -> list[Op]:
        absent = self.scenario.service if (self.scenario is not None and self.scenario.absent_before_onset
                                           and active is None) else None
        svc = C.SERVICE_BY_NAME[self._weighted(tuple((s.name, s.weight) for s in C.SERVICES if s.name != absent))]
        sc = active if active is not None and active.service == svc.name else None
        tr = _Trace(svc=svc, trace_id=self.rng.getrandbits(128).to_bytes(16, "big"),
                    dialect=self._weighted(svc.dialects), sc=sc)
        if svc.shape != "workflow":
            tr.conversation, tr.new_conversation = self._conversation(svc.name)
        {"agent": self._support_agent, "rag": self._rag, "agent_loop": self._coding_agent,
         "workflow": self._batch_workflow}[svc.shape](tr)
        return tr.ops

    def _root(self, tr: _Trace, operation: str, name: str, provider: str = "", model: str = "") -> Op:
        dialect = tr.dialect
        op = Op(trace_id=tr.trace_id, span_id=self._span_id(), service=tr.svc.name, operation=operation,
                dialect=dialect, name=name, provider=provider, model=model if operation == "invoke_agent" else "",
                conversation_id=tr.conversation, variant=self.rng.randrange(1000),
                input_text=self._text(C.PROMPTS[tr.svc.name]) if dialect == C.OPENINFERENCE else "")
        tr.ops.append(op)
        return op

    @staticmethod
    def _close(root: Op, children_end: int, error: C.ErrorKind | None) -> None:
        root.end_ns = children_end + 3_000_000
        root.error = error

    def _support_agent(self, tr: _Trace) -> None:
        model = self._weighted(tr.svc.chat_models)
        root = self._root(tr, "invoke_agent", "support-agent", C.MODELS[model].provider, model)
        t = root.start_ns + 5_000_000
        n_chats = self.rng.choices((1, 2, 3), weights=(0.35, 0.45, 0.2))[0]
        error = None
        for i in range(n_chats):
            final = i == n_chats - 1
            op = self._llm(tr, root, t, model, wants_tool=not final, final=final)
            t = op.end_ns
            if op.error:
                error = op.error
                break
            if not final:
                t = self._tool(tr, root, t, self._tool_name("support-bot"))
        self._close(root, t, error)

    def _rag(self, tr: _Trace) -> None:
        root = self._root(tr, "invoke_workflow", "answer_question")
        t = root.start_ns + 2_000_000
        emb = self._llm(tr, root, t, "text-embedding-3-small", operation="embeddings")
        t = emb.end_ns
        error = emb.error
        if error is None:
            ret = self._op(tr, root, "retrieval", t, self._lognormal(0.045, 0.5), name="kb-articles",
                           dialect=tr.dialect)
            ret.input_text = "vector search: top 5"
            t = ret.end_ns
            op = self._llm(tr, root, t + 1_000_000, self._weighted(tr.svc.chat_models), final=True)
            t, error = op.end_ns, op.error
        self._close(root, t, error)

    def _coding_agent(self, tr: _Trace) -> None:
        model = self._weighted(tr.svc.chat_models)
        root = self._root(tr, "invoke_agent", "code-assistant", C.MODELS[model].provider, model)
        sc = tr.sc
        runaway = sc is not None and sc.runaway_share > 0 and self.rng.random() < sc.runaway_share
        if runaway:
            assert sc is not None
            n_calls = self.rng.randint(*sc.runaway_calls)
        else:
            n_calls = min(12, max(1, round(self._lognormal(4, 0.45))))
        t = root.start_ns + 8_000_000
        error = None
        for i in range(n_calls):
            final = i == n_calls - 1
            op = self._llm(tr, root, t, model, wants_tool=not final, final=final)
            t = op.end_ns
            if op.error:
                error = op.error
                if not runaway and self.rng.random() < 0.5:   # a looping agent retries regardless
                    break
                continue
            error = None
            if not final:
                t = self._tool(tr, root, t, self._tool_name("coding-agent"))
        self._close(root, t, error)

    def _batch_workflow(self, tr: _Trace) -> None:
        root = self._root(tr, "invoke_workflow", "summarize_batch")
        t = root.start_ns + 4_000_000
        for _ in range(self.rng.randint(2, 5)):
            op = self._llm(tr, root, t, self._weighted(tr.svc.chat_models), final=True)
            t = op.end_ns + 2_000_000
        self._close(root, t, None)

    # ---- operations ----------------------------------------------------

    def _op(self, tr: _Trace, parent: Op, operation: str, t: int, dur_s: float, *, dialect: str,
            service: str | None = None, **fields) -> Op:
        op = Op(trace_id=tr.trace_id, span_id=self._span_id(), parent_span_id=parent.span_id,
                service=service or tr.svc.name, operation=operation, dialect=dialect, start_ns=t,
                end_ns=t + max(1_000, int(dur_s * 1e9)), conversation_id=tr.conversation,
                variant=self.rng.randrange(1000), **fields)
        tr.ops.append(op)
        return op

    def _tool(self, tr: _Trace, parent: Op, t: int, name: str) -> int:
        median = dict(C.TOOLS[tr.svc.name])[name]
        op = self._op(tr, parent, "execute_tool", t + 1_000_000, self._lognormal(median, 0.5), name=name,
                      dialect=tr.dialect)
        if self.rng.random() < TOOL_ERROR_SHARE:
            op.error = TOOL_ERROR
        return op.end_ns

    def _dialect(self, tr: _Trace, model: str) -> str:
        return dict(tr.svc.model_dialects).get(model, tr.dialect)

    def _llm(self, tr: _Trace, parent: Op, t: int, model_name: str, *, operation: str = "chat",
             wants_tool: bool = False, final: bool = False, retry: bool = False) -> Op:
        """One model call; a failed call is retried once (the retry is the one returned)."""
        op = self._llm_once(tr, parent, t, model_name, operation, wants_tool, final, retry)
        if op.error is not None and not retry:
            wait = (self.rng.uniform(1.0, 5.0) if op.error.http_status == 429
                    else self._lognormal(0.5, 0.4))   # Retry-After, or the SDK's backoff
            return self._llm(tr, parent, op.end_ns + int(wait * 1e9), op.model, operation=operation,
                             wants_tool=wants_tool, final=final, retry=True)
        return op

    def _llm_once(self, tr: _Trace, parent: Op, t: int, model_name: str, operation: str,
                  wants_tool: bool, final: bool, retry: bool) -> Op:
        rng, svc, sc = self.rng, tr.svc, tr.sc
        share = 0.0 if sc is None else sc.model_share if not sc.model_ramp_s else \
            sc.model_share * min(1.0, max(0.0, self._elapsed_s / sc.model_ramp_s))
        if sc is not None and sc.model and operation == "chat" and not retry and rng.random() < share:
            model_name = sc.model
        m = C.MODELS[model_name]
        dialect = self._dialect(tr, model_name)
        latency = sc.latency_factor if sc is not None else 1.0
        op = Op(trace_id=tr.trace_id, span_id=self._span_id(), parent_span_id=parent.span_id,
                service=svc.name, operation=operation, dialect=dialect, provider=m.provider, model=m.name,
                response_model=m.response_model, conversation_id=tr.conversation if dialect != C.VLLM else "",
                variant=rng.randrange(1000), start_ns=t, retry=retry,
                mixed=dialect in (C.OPENLLMETRY, C.OPENINFERENCE) and rng.random() < MIXED_VOCAB_SHARE)
        op.prompt_version = "" if svc.prompt_version_on_resource else self._prompt_version(tr)
        op.input_text = self._text(C.PROMPTS[svc.name])
        if operation == "embeddings":
            op.input_tokens = max(1, round(self._lognormal(40, 0.6)))
            dur = self._lognormal(m.ttft_median_s, 0.4) * latency
        else:
            op.response_id = self._response_id(m.provider)
            op.max_tokens = svc.max_tokens * (10 if sc is not None and sc.output_factor > 1 else 1)
            if sc is not None and sc.max_tokens:
                op.max_tokens = sc.max_tokens
            op.temperature = 0.2 if svc.name == "coding-agent" else 0.7
            op.stream = dialect not in (C.OTEL_LEGACY, C.VLLM) and rng.random() < svc.streaming_share
            growth = min(MAX_CONTEXT_GROWTH, 1.0 + CONTEXT_GROWTH_PER_TURN * tr.turn)
            tr.turn += 1
            op.input_tokens = max(50, round(self._lognormal(svc.input_tokens_median * growth, 0.45)))
            out = self._lognormal(60 if wants_tool else svc.output_tokens_median, OUTPUT_SIGMA)
            if sc is not None:
                out *= sc.output_factor
            if m.reasoning and (svc.name == "coding-agent" or m.provider == "gcp.gemini") \
                    and rng.random() < REASONING_SHARE:
                op.reasoning_tokens = round(self._lognormal(REASONING_MEDIAN_TOKENS, 0.5))
            out_tokens = max(1, round(out)) + op.reasoning_tokens
            truncation = sc.truncation_share if sc is not None and sc.truncation_share else svc.truncation_share
            if wants_tool:
                op.finish = "tool_calls"
            elif rng.random() < truncation or out_tokens >= op.max_tokens:
                op.finish, out_tokens = "length", op.max_tokens
            else:
                op.finish = "stop"
            if final and svc.name == "support-bot" and rng.random() < GUARDRAIL_SHARE:
                op.finish, op.guardrail = "content_filter", "pii-output-filter"
                out_tokens = min(out_tokens, 12)
            op.output_tokens = out_tokens
            op.reasoning_tokens = min(op.reasoning_tokens, out_tokens)
            self._cache(op, m, tr)
            if dialect in (C.OTEL_LEGACY, C.VLLM):   # these spans cannot carry cache or reasoning counts
                op.cache_read_tokens = op.cache_write_tokens = op.reasoning_tokens = 0
            op.ttft_s = self._lognormal(m.ttft_median_s * (1 + op.input_tokens / 60000), TTFT_SIGMA) * latency
            gen = out_tokens / self._lognormal(m.tokens_per_s, 0.2) * latency
            dur = op.ttft_s + gen + 0.01
            op.output_text = self._text(C.COMPLETIONS)
        error_share = BASE_ERROR_SHARE
        if sc is not None and sc.error_share and sc.provider in (None, m.provider):
            error_share = sc.error_share
        if rng.random() < error_share:
            kinds = C.ERRORS[m.provider]
            op.error = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
            dur = self._lognormal(op.error.fails_after_s, 0.15)
            op.output_tokens = op.reasoning_tokens = op.cache_read_tokens = op.cache_write_tokens = 0
            op.finish, op.ttft_s, op.output_text, op.guardrail = "", None, "", ""
        op.end_ns = t + max(1_000_000, int(dur * 1e9))
        if m.batch and svc.shape == "workflow":        # batch-summarizer sends its calls through the Batch API
            op.service_tier = "batch"
        op.cost_usd = _cost(m, op)
        if final and op.error is None and operation == "chat":
            op.evals = self._evals(tr, op)
        if dialect == C.VLLM:
            self._via_http(tr, op, parent, "http://vllm-llama.internal:8000/v1/chat/completions",
                           service=C.VLLM_SERVICE.name)
        else:
            tr.ops.append(op)
            if dialect == C.OPENLLMETRY and svc.name == "coding-agent":
                self._http_child(tr, op)
        return op

    def _via_http(self, tr: _Trace, op: Op, parent: Op, url: str, service: str) -> None:
        """The app's HTTP client span, with the model server's own span under it."""
        http = Op(trace_id=tr.trace_id, span_id=self._span_id(), parent_span_id=parent.span_id,
                  service=tr.svc.name, operation=HTTP, dialect=C.OTEL, start_ns=op.start_ns,
                  end_ns=op.end_ns, url=url, http_status=op.error.http_status or 500 if op.error else 200)
        op.parent_span_id = http.span_id
        op.service = service
        op.start_ns += 1_000_000
        op.end_ns = max(op.start_ns + 1_000, op.end_ns - 500_000)
        tr.ops += [http, op]

    def _http_child(self, tr: _Trace, op: Op) -> None:
        url = {"openai": "https://api.openai.com/v1/chat/completions",
               "anthropic": "https://api.anthropic.com/v1/messages"}.get(op.provider, "https://api.acme-llm.example/v1/chat")
        status = (op.error.http_status or 0) if op.error else 200
        if status == 0:
            return  # timed out: the HTTP span never got a response either
        tr.ops.append(Op(trace_id=tr.trace_id, span_id=self._span_id(), parent_span_id=op.span_id,
                         service=tr.svc.name, operation=HTTP, dialect=C.OTEL, start_ns=op.start_ns + 2_000_000,
                         end_ns=max(op.start_ns + 2_001_000, op.end_ns - 1_000_000), url=url, http_status=status))

    def _cache(self, op: Op, m: C.Model, tr: _Trace) -> None:
        rng = self.rng
        if m.provider in ("anthropic", "aws.bedrock"):
            system_prompt = 1200 if tr.svc.name != "batch-summarizer" else 900
            if tr.new_conversation and tr.turn <= 1 or rng.random() < 0.1:
                op.cache_write_tokens = system_prompt
            elif rng.random() < 0.85:
                op.cache_read_tokens = system_prompt
        elif m.provider in ("openai", "gcp.gemini") and op.input_tokens >= 1024 and rng.random() < 0.5:
            op.cache_read_tokens = (op.input_tokens * rng.randint(3, 8) // 10) // 128 * 128
        op.input_tokens = max(op.input_tokens, op.cache_read_tokens + op.cache_write_tokens + 20)

    def _response_id(self, provider: str) -> str:
        prefix = {"openai": "chatcmpl-", "anthropic": "msg_", "aws.bedrock": "msg_bdrk_", "vllm": "chatcmpl-"}
        return prefix.get(provider, "resp_") + self._hex(24)

    def _prompt_version(self, tr: _Trace) -> str:
        if tr.sc is not None and tr.sc.prompt_version:
            return tr.sc.prompt_version
        return tr.svc.prompt_version

    def _evals(self, tr: _Trace, op: Op) -> list[EvalTruth]:
        rng, sc = self.rng, tr.sc
        factor = sc.eval_factor if sc is not None else 1.0
        channel = {C.OTEL: "span_event", C.OPENLIT: "span_event", C.OPENINFERENCE: "attributes"}.get(
            op.dialect, "log")
        out: list[EvalTruth] = []
        if tr.svc.name == "support-bot":
            rel = rng.betavariate(8, 1.5) * factor
            out.append(EvalTruth("relevance", rel, "pass" if rel >= 0.5 else "fail", channel))
            if sc is not None and rng.random() < sc.safety_fail_share:
                out.append(EvalTruth("safety", rng.betavariate(1.5, 6), "fail",
                                     "log" if rng.random() < LOG_SAFETY_SHARE else channel))
            else:
                out.append(EvalTruth("safety", rng.betavariate(30, 1), "pass",
                                     "log" if rng.random() < LOG_SAFETY_SHARE else channel))
        elif tr.svc.name == "search-api":
            for name, a, b in (("relevance", 8, 1.5), ("faithfulness", 9, 1.3)):
                score = rng.betavariate(a, b) * factor
                out.append(EvalTruth(name, score, "pass" if score >= 0.5 else "fail", channel))
        elif tr.svc.name == "batch-summarizer" and op.dialect != C.VLLM and rng.random() < 0.5:
            score = rng.betavariate(9, 1.3) * factor
            out.append(EvalTruth("faithfulness", score, "pass" if score >= 0.5 else "fail", "log"))
        return out

    def _conversation(self, service: str) -> tuple[str, bool]:
        pool = self._conversations[service]
        if pool and self.rng.random() < 0.55:
            entry = self.rng.choice(pool)
            entry[1] -= 1
            if entry[1] <= 0:
                pool.remove(entry)
            return entry[0], False
        conv = f"conv_{self._hex(16)}"
        if len(pool) < 50:
            pool.append([conv, self.rng.randint(1, 6)])
        return conv, True

    # ---- placement in time and async scores ----------------------------

    def _place(self, ops: list[Op], now_ns: int) -> None:
        """Shift a trace built from t=0 so that it ends just before `now_ns`."""
        end = max(op.end_ns for op in ops)
        offset = now_ns - int(self.rng.uniform(0, TRACE_END_JITTER_S) * 1e9) - end
        for op in ops:
            op.start_ns += offset
            op.end_ns += offset

    def _schedule_scores(self, ops: list[Op], active: Scenario | None) -> None:
        rng = self.rng
        for op in ops:
            answered = op.operation == "chat" and op.error is None and op.finish != "tool_calls"
            if not answered or op.service not in ("support-bot", "search-api", "coding-agent"):
                continue
            due = self._batches + rng.randint(1, 3)
            if op.service != "coding-agent" and rng.random() < JUDGE_SHARE:
                factor = active.eval_factor if active is not None and active.service == op.service else 1.0
                value = round(rng.betavariate(7, 2) * factor, 4)
                self._pending_scores.append((due, {
                    "trace_id": op.trace_id_hex, "span_id": op.span_id_hex, "name": "helpfulness",
                    "value": value, "label": "pass" if value >= 0.5 else "fail", "kind": "eval"}))
            if rng.random() < FEEDBACK_SHARE:
                negative = rng.random() < NEGATIVE_FEEDBACK_SHARE
                if rng.random() < 0.5:
                    item = {"name": "user_feedback", "kind": "feedback", "value": -1 if negative else 1}
                else:
                    item = {"name": "feedback", "label": "thumbs_down" if negative else "thumbs_up"}
                self._pending_scores.append((due, {"trace_id": op.trace_id_hex, "span_id": op.span_id_hex,
                                                   **item}))


def _cost(m: C.Model, op: Op) -> float | None:
    if m.price is None:
        return None
    p_in, p_out, p_read, p_write = m.price
    fresh = op.input_tokens - op.cache_read_tokens - op.cache_write_tokens
    usd = (fresh * p_in + op.cache_read_tokens * p_read + op.cache_write_tokens * p_write
           + op.output_tokens * p_out) / 1e6
    return usd * 0.5 if op.service_tier == "batch" else usd


def _resource_attrs(service: str) -> dict[str, object]:
    svc = C.SERVICE_BY_NAME.get(service, C.VLLM_SERVICE)
    attrs: dict[str, object] = {
        "service.name": svc.name, "service.version": svc.version,
        "deployment.environment": svc.environment, "service.instance.id": f"{svc.name}-7d9f",
        "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "python",
        "telemetry.sdk.version": "1.38.0",
    }
    attrs.update(svc.extra_resource)
    if svc.prompt_version_on_resource:
        attrs[C.PROMPT_VERSION_ATTR] = svc.prompt_version
    return attrs


def _traces_request(ops: list[Op]) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    by_service: dict[str, dict[tuple[str, str], list[Op]]] = {}
    for op in ops:
        scope = HTTP_SCOPE if op.operation == HTTP else C.SCOPES[op.dialect]
        by_service.setdefault(op.service, {}).setdefault(scope, []).append(op)
    for service, scopes in by_service.items():
        resource = _resource_attrs(service)
        svc = C.SERVICE_BY_NAME.get(service, C.VLLM_SERVICE)
        rs = req.resource_spans.add(schema_url="https://opentelemetry.io/schemas/1.37.0")
        rs.resource.attributes.extend(key_values(resource.items()))
        for (name, version), scope_ops in scopes.items():
            ss = rs.scope_spans.add(scope=InstrumentationScope(name=name, version=version))
            copy = svc.copy_resource_to_spans
            ss.spans.extend(render(op, resource, copy) for op in scope_ops)
    return req


def _logs_request(ops: list[Op]) -> ExportLogsServiceRequest | None:
    req = ExportLogsServiceRequest()
    by_service: dict[str, list] = {}
    for op in ops:
        for ev in op.evals:
            if ev.channel == "log":
                by_service.setdefault(op.service, []).append((op, ev))
    if not by_service:
        return None
    for service, items in by_service.items():
        rl = req.resource_logs.add()
        rl.resource.attributes.extend(key_values(_resource_attrs(service).items()))
        sl = rl.scope_logs.add(scope=InstrumentationScope(name=EVAL_SCOPE[0], version=EVAL_SCOPE[1]))
        for op, ev in items:
            when = op.end_ns + 20_000_000
            attrs = [("gen_ai.evaluation.name", ev.name), ("gen_ai.evaluation.score.value", round(ev.score, 4)),
                     ("gen_ai.evaluation.score.label", ev.label),
                     ("gen_ai.evaluation.explanation", f"{ev.name} judged {ev.label}"),
                     ("gen_ai.response.id", op.response_id or None)]
            # Older SDKs put the event name in an attribute instead of the field.
            legacy = op.variant % 4 == 0
            if legacy:
                attrs.append(("event.name", "gen_ai.evaluation.result"))
            sl.log_records.append(LogRecord(
                time_unix_nano=when, observed_time_unix_nano=when, severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
                severity_text="INFO", event_name="" if legacy else "gen_ai.evaluation.result",
                attributes=key_values(attrs), flags=1, trace_id=op.trace_id, span_id=op.span_id))
    return req
