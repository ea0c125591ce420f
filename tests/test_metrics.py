"""Metric semantics: caps, exemplars, expiry, traces and conversations, unpriced calls."""

from prometheus_client import CollectorRegistry

from llmpulse.config import load_config
from llmpulse.metrics import Metrics
from llmpulse.records import Call, Eval
from llmpulse.series import OVERFLOW


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def setup(**overrides):
    reg, clock = CollectorRegistry(), Clock()
    return Metrics(load_config(overrides=overrides), reg, now=clock), reg, clock


def call(**kw):
    base = dict(trace_id="a" * 32, span_id="b" * 16, service="svc", provider="openai", request_model="gpt-4o",
                response_model="gpt-4o", start_ns=10**9, end_ns=2 * 10**9)
    base.update(kw)
    return Call(**base)


def L(**kw):
    return {"service_name": "svc", "gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
            "gen_ai_request_model": "gpt-4o", **kw}


def test_label_cap_turns_new_values_into_overflow_and_counts_them():
    m, reg, _ = setup(metrics={"label_caps": {"gen_ai_request_model": 3}})
    m.record([call(request_model=f"model-{i}", span_id=f"{i:016x}", input_tokens=1) for i in range(10)])
    models = {s.labels["gen_ai_request_model"] for f in m.collect() if f.name == "llm_tokens" for s in f.samples}
    assert models == {"model-0", "model-1", "model-2", OVERFLOW}
    assert reg.get_sample_value("llm_tokens_total", L(gen_ai_request_model=OVERFLOW, gen_ai_token_type="input")) == 7
    assert reg.get_sample_value("llmpulse_label_overflows_total", {"label": "gen_ai_request_model"}) == 7


def test_unpriced_is_counted_and_never_looks_like_zero_dollars():
    m, reg, _ = setup()
    m.record([call(input_tokens=10, output_tokens=5)])                 # no cost: unpriced
    m.record([call(input_tokens=10, output_tokens=5, cost_usd=0.0, span_id="c" * 16)])   # priced at $0 on purpose
    assert reg.get_sample_value("llm_unpriced_operations_total", L()) == 1
    assert reg.get_sample_value("llm_request_cost_usd_count", L()) == 1
    assert reg.get_sample_value("llm_cost_usd_total", L()) == 0.0
    # a tool call has no tokens and no price: not unpriced
    m.record([call(operation="execute_tool", tool_name="calc", span_id="d" * 16)])
    assert reg.get_sample_value("llm_unpriced_operations_total", L()) == 1


def test_time_per_output_chunk_from_ttft_duration_and_tokens():
    m, reg, _ = setup()
    m.record([call(streaming=True, ttft_s=0.2, output_tokens=11, end_ns=10**9 + 1_200_000_000)])
    assert abs(reg.get_sample_value("gen_ai_client_operation_time_per_output_chunk_seconds_sum", L()) - 0.1) < 1e-9
    # errors and non-streamed calls do not feed the streaming histograms
    m.record([call(streaming=False, ttft_s=None, span_id="e" * 16),
              call(streaming=True, ttft_s=0.3, error_type="timeout", span_id="f" * 16)])
    assert reg.get_sample_value("gen_ai_client_operation_time_to_first_chunk_seconds_count", L()) == 1


def test_traces_and_conversations_observed_once_idle():
    m, reg, clock = setup(tracking={"trace_idle_seconds": 5, "conversation_idle_seconds": 60})
    m.record([call(span_id=f"{i:016x}", cost_usd=0.01, conversation_id="c1") for i in range(4)])
    m.sweep()
    assert reg.get_sample_value("llm_trace_operations_count", {"service_name": "svc"}) is None
    clock.t += 6
    m.sweep()
    assert reg.get_sample_value("llm_trace_operations_sum", {"service_name": "svc"}) == 4
    assert abs(reg.get_sample_value("llm_trace_cost_usd_sum", {"service_name": "svc"}) - 0.04) < 1e-12
    assert reg.get_sample_value("llm_conversation_cost_usd_count", {"service_name": "svc"}) is None
    m.record([call(trace_id="9" * 32, span_id="1" * 16, cost_usd=0.01, conversation_id="c1")])
    clock.t += 61
    m.sweep()
    assert abs(reg.get_sample_value("llm_conversation_cost_usd_sum", {"service_name": "svc"}) - 0.05) < 1e-12


def test_tracked_traces_are_bounded():
    m, reg, _ = setup(tracking={"max_traces": 100})
    m.record([call(trace_id=f"{i:032x}", span_id=f"{i:016x}") for i in range(1000)])
    assert len(m.seen.traces.open) == 100
    assert reg.get_sample_value("llm_trace_operations_count", {"service_name": "svc"}) == 900


def test_deployment_info_expires_stale_combinations():
    m, reg, clock = setup(metrics={"deployment_info_ttl_seconds": 60})
    m.record([call(service_version="1.0", prompt_version="p1")])
    clock.t += 30
    m.record([call(service_version="1.1", prompt_version="p2", span_id="c" * 16)])
    clock.t += 40
    assert reg.get_sample_value("llm_deployment_info", L(service_version="1.0", prompt_version="p1")) is None
    assert reg.get_sample_value("llm_deployment_info", L(service_version="1.1", prompt_version="p2")) == 1


def test_evals_signals_and_tools():
    m, reg, _ = setup()
    m.record([call(evals=[Eval("toxicity", 0.9, "fail")], guardrail=True, finish_reasons=("content_filter",)),
              call(operation="execute_tool", tool_name="search", error_type="Timeout", span_id="c" * 16)])
    ev = {"service_name": "svc", "gen_ai_request_model": "gpt-4o", "gen_ai_evaluation_name": "toxicity"}
    assert reg.get_sample_value("llm_eval_results_total", {**ev, "gen_ai_evaluation_score_label": "fail"}) == 1
    assert reg.get_sample_value("llm_eval_score_sum", ev) == 0.9
    assert reg.get_sample_value("llm_guardrail_triggers_total", L()) == 1
    assert reg.get_sample_value("llm_refusals_total", L()) == 1
    assert reg.get_sample_value("llm_tool_calls_total", {"service_name": "svc", "gen_ai_tool_name": "search",
                                                         "error_type": "Timeout"}) == 1


def test_late_scores_find_their_span_or_fall_back_to_unknown():
    m, reg, _ = setup(tracking={"remember_spans": 2})
    m.record([call(trace_id=f"{i:032x}", span_id=f"{i:016x}", request_model=f"m{i}") for i in range(3)])
    m.record_scores([(f"{2:032x}", f"{2:016x}", Eval("q", 1.0)), (f"{0:032x}", "", Eval("q", 1.0))], "api")
    assert reg.get_sample_value("llm_eval_score_count", {"service_name": "svc", "gen_ai_request_model": "m2",
                                                         "gen_ai_evaluation_name": "q"}) == 1
    # the oldest span was forgotten (bounded memory): its score goes to unknown
    assert reg.get_sample_value("llm_eval_score_count", {"service_name": "unknown", "gen_ai_request_model": "unknown",
                                                         "gen_ai_evaluation_name": "q"}) == 1


def test_extra_dimensions_become_labels_with_their_own_cap():
    m, reg, _ = setup(metrics={"dimensions": [{"name": "tenant", "attributes": ["app.tenant"], "cap": 2}]})
    m.record([call(dims=(t,), span_id=f"{i:016x}", input_tokens=1) for i, t in enumerate(["a", "b", "c"])])
    assert reg.get_sample_value("llm_tokens_total", L(tenant="b", gen_ai_token_type="input")) == 1
    assert reg.get_sample_value("llm_tokens_total", L(tenant=OVERFLOW, gen_ai_token_type="input")) == 1
