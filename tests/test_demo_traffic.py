"""The demo traffic generator: determinism, dialects, trace structure, realism."""

from __future__ import annotations

import collections
import json
import re

import pytest
from demo_spans import NOW_NS, all_rows, log_evals, rows, run

from llmpulse.demo import catalog as C
from llmpulse.demo.traffic import SCENARIOS, Traffic


@pytest.fixture(scope="module")
def normal():
    return run(seed=1, batches=20, calls=50)


@pytest.fixture(scope="module")
def normal_rows(normal):
    return all_rows(normal)


def _bytes(batches):
    return [(b.traces.SerializeToString(deterministic=True),
             b.logs.SerializeToString(deterministic=True) if b.logs else b"",
             json.dumps(b.scores, sort_keys=True)) for b in batches]


@pytest.mark.parametrize("scenario", [None, "runaway_agent", "quality_drop"])
def test_same_seed_gives_byte_identical_batches(scenario):
    assert _bytes(run(seed=7, scenario=scenario, batches=6)) == _bytes(run(seed=7, scenario=scenario, batches=6))


def test_other_seed_gives_other_traffic():
    assert _bytes(run(seed=7, batches=2)) != _bytes(run(seed=8, batches=2))


def test_batches_meet_the_requested_llm_call_rate(normal):
    calls = [b.llm_calls for b in normal]
    assert all(c >= 1 for c in calls)
    # traces are never split, the surplus is carried over: the total is exact
    # up to the surplus of the last batch (one trace at most)
    assert 0 <= sum(calls) - 50 * len(normal) <= max(calls)


def test_tiny_rate_still_progresses():
    t = Traffic(seed=3)
    made = sum(t.batch(1, NOW_NS + i * 10**9).llm_calls for i in range(30))
    assert 30 <= made <= 30 + 12


def test_every_dialect_appears(normal_rows):
    seen = collections.Counter(r.dialect for r in normal_rows)
    for dialect in ("otel", "otel_legacy", "openllmetry", "openinference", "openlit", "vllm"):
        assert seen[dialect] > 0, (dialect, seen)


def test_dialect_markers_match_the_reference(normal_rows):
    by = collections.defaultdict(list)
    for r in normal_rows:
        if r.is_llm and not r.error:
            by[r.dialect].append(r.attrs)
    assert all("gen_ai.provider.name" in a and "gen_ai.usage.input_tokens" in a for a in by["otel"])
    assert all("gen_ai.system" in a and "gen_ai.usage.prompt_tokens" in a and "gen_ai.operation.name" not in a
               for a in by["otel_legacy"])
    legacy = by["openllmetry"]
    assert {a["gen_ai.system"] for a in legacy} <= {"OpenAI", "Anthropic", "MistralAI", "Google", "AWS"}
    assert all("llm.request.type" in a and "llm.usage.total_tokens" in a and "gen_ai.prompt.0.content" in a
               for a in legacy)
    assert any("gen_ai.completion.0.finish_reason" in a for a in legacy)
    oi = by["openinference"]
    assert all("llm.model_name" in a and "llm.provider" in a and "llm.system" in a
               and "llm.token_count.prompt" in a and json.loads(a["llm.invocation_parameters"])["model"] for a in oi)
    assert any("llm.cost.total" in a and "session.id" in a for a in oi)
    lit = by["openlit"]
    assert all("gen_ai.usage.cost" in a and "gen_ai.session.id" in a for a in lit)
    assert any("gen_ai.server.time_to_first_token" in a and "gen_ai.server.time_per_output_token" in a
               and a.get("gen_ai.request.stream") is True for a in lit)
    vllm = by["vllm"]
    assert all({"gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens", "gen_ai.latency.time_to_first_token",
                "gen_ai.latency.e2e", "gen_ai.request.id"} <= set(a) for a in vllm)


def test_workflow_layers_of_each_library(normal_rows):
    kinds = {r.attrs.get("openinference.span.kind") for r in normal_rows}
    assert {"LLM", "EMBEDDING", "RETRIEVER", "CHAIN", "AGENT", "TOOL"} <= kinds
    assert {"workflow", "agent", "tool"} <= {r.attrs.get("traceloop.span.kind") for r in normal_rows}
    ops = {r.attrs.get("gen_ai.operation.name") for r in normal_rows}
    assert {"chat", "embeddings", "retrieval", "execute_tool", "invoke_agent", "invoke_workflow"} <= ops
    assert any("traceloop.association.properties.session_id" in r.attrs for r in normal_rows)
    assert any("gen_ai.conversation.id" in r.attrs for r in normal_rows)


def test_parent_child_structure_is_valid(normal):
    for b in normal:
        spans = rows(b)
        ids = collections.defaultdict(set)
        for r in spans:
            ids[r.trace_id].add(r.span_id)
        assert len({(r.trace_id, r.span_id) for r in spans}) == len(spans), "span ids unique"
        roots = collections.Counter()
        for r in spans:
            assert r.trace_id != "0" * 32 and r.span_id != "0" * 16
            if r.parent_span_id:
                assert r.parent_span_id in ids[r.trace_id], (r.name, r.parent_span_id)
            else:
                roots[r.trace_id] += 1
            assert 0 < r.start_ns <= r.end_ns <= NOW_NS + 20 * 10**9
        assert all(roots[t] == 1 for t in ids), "one root per trace"


def test_children_lie_within_their_parents(normal):
    spans = {(r.trace_id, r.span_id): r for r in rows(normal[3])}
    for r in spans.values():
        if r.parent_span_id:
            p = spans[(r.trace_id, r.parent_span_id)]
            assert p.start_ns <= r.start_ns and r.end_ns <= p.end_ns, (p.name, r.name)


def test_an_agent_trace_has_several_chats_and_tools(normal_rows):
    per_trace = collections.defaultdict(collections.Counter)
    for r in normal_rows:
        per_trace[r.trace_id][r.attrs.get("gen_ai.operation.name") or r.attrs.get("traceloop.span.kind")] += 1
    assert any(c["invoke_agent"] == 1 and c["chat"] >= 3 and c["execute_tool"] >= 2 for c in per_trace.values())


def test_services_resources_and_providers(normal_rows):
    services = {r.service for r in normal_rows}
    assert {"support-bot", "search-api", "coding-agent", "batch-summarizer"} <= services
    for r in normal_rows:
        assert {"service.name", "service.version", "deployment.environment"} <= set(r.resource)
    providers = {r.provider for r in normal_rows if r.is_llm}
    assert {"openai", "anthropic", "gcp.gemini", "mistral_ai", "aws.bedrock", "vllm"} <= providers
    models = {r.model for r in normal_rows if r.is_llm}
    for m in ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-3-5-haiku", "mistral-large-latest",
              "llama-3.1-8b-instruct"):
        assert m in models or any(x.startswith(m) for x in models), m
    assert "acme-llm-9000" not in models   # only in the unpriced_model scenario


def test_error_share_of_normal_traffic_is_about_one_percent(normal_rows):
    llm = [r for r in normal_rows if r.is_llm]
    errors = [r for r in llm if r.error]
    assert 0.005 <= len(errors) / len(llm) <= 0.03, len(errors) / len(llm)
    for r in errors:
        exc = [e for name, _, e in r.events if name == "exception"]
        assert exc and exc[0]["exception.type"]
        if r.dialect in ("otel", "openlit"):
            assert r.attrs["error.type"]
    types = {r.attrs.get("error.type") for r in errors}
    assert types & {"rate_limit_exceeded", "timeout", "500", "overloaded_error", "rate_limit_error"}


def test_finish_reasons_use_each_providers_vocabulary(normal_rows):
    seen = collections.defaultdict(set)
    for r in normal_rows:
        if r.is_llm and r.finish_reasons:
            seen[r.provider].update(r.finish_reasons)
    assert seen["openai"] <= {"stop", "length", "tool_calls", "content_filter"}
    assert seen["anthropic"] <= {"end_turn", "max_tokens", "tool_use", "refusal"}
    assert {"end_turn", "tool_use"} <= seen["anthropic"]
    assert seen["gcp.gemini"] <= {"STOP", "MAX_TOKENS", "SAFETY"} and "STOP" in seen["gcp.gemini"]


def test_streaming_ttft_in_each_dialects_form(normal_rows):
    llm = [r for r in normal_rows if r.is_llm and not r.error]
    assert any("gen_ai.response.time_to_first_chunk" in r.attrs for r in llm)
    assert any("gen_ai.server.time_to_first_token" in r.attrs for r in llm)
    assert any("gen_ai.latency.time_to_first_token" in r.attrs for r in llm)
    assert any(name == "First Token Stream Event" for r in llm for name, _, _ in r.events)
    assert any(name == "llm.content.completion.chunk" for r in llm for name, _, _ in r.events)
    for r in llm:
        if r.ttft_s is not None:
            assert 0 < r.ttft_s < (r.end_ns - r.start_ns) / 1e9


def test_token_details_cache_and_reasoning(normal_rows):
    a = [r.attrs for r in normal_rows if r.is_llm and not r.error]
    assert any(x.get("gen_ai.usage.cache_read.input_tokens") for x in a)
    assert any(x.get("gen_ai.usage.cache_creation.input_tokens") or x.get("gen_ai.usage.cache_write.input_tokens")
               for x in a)
    assert any(x.get("gen_ai.usage.reasoning.output_tokens") for x in a)
    assert any(x.get("llm.token_count.prompt_details.cache_read") for x in a)
    for x in a:   # cached tokens are a subset of the input count in every dialect
        inp = x.get("gen_ai.usage.input_tokens") or x.get("gen_ai.usage.prompt_tokens") or x.get(
            "llm.token_count.prompt") or 0
        cached = (x.get("gen_ai.usage.cache_read.input_tokens") or x.get("gen_ai.usage.cache_read_input_tokens")
                  or x.get("llm.token_count.prompt_details.cache_read") or 0)
        assert cached <= inp


def test_evals_in_every_channel(normal, normal_rows):
    names = {e[0] for r in normal_rows for e in r.evals()}
    assert {"relevance", "safety", "faithfulness"} <= names
    assert any(r.dialect == "openinference" and r.evals() for r in normal_rows)
    assert any(r.dialect in ("otel", "openlit") and r.evals() for r in normal_rows)
    logs = [e for b in normal for e in log_evals(b)]
    assert logs and {e[1] for e in logs} >= {"faithfulness"}
    all_evals = [e for r in normal_rows for e in r.evals()] + [(n, s, lab) for _, n, s, lab in logs]
    assert all(0.0 <= s <= 1.0 and lab in ("pass", "fail") for _, s, lab in all_evals)
    # no failed safety evaluation in normal traffic: that alert pages
    assert not [e for e in all_evals if e[0] == "safety" and e[2] == "fail"]


def test_eval_log_records_name_the_event_and_the_span(normal):
    recs = [rec for b in normal if b.logs for rl in b.logs.resource_logs for sl in rl.scope_logs
            for rec in sl.log_records]
    assert recs
    for rec in recs:
        names = {kv.key: kv.value.string_value for kv in rec.attributes}
        assert rec.event_name == "gen_ai.evaluation.result" or names.get("event.name") == "gen_ai.evaluation.result"
        assert len(rec.trace_id) == 16 and len(rec.span_id) == 8
    assert any(rec.event_name == "" for rec in recs), "some records use the older event.name attribute"


def test_scores_reference_earlier_traces(normal):
    seen: set[tuple[str, str]] = set()
    total = feedback = 0
    for b in normal:
        for s in b.scores:
            assert (s["trace_id"], s["span_id"]) in seen, "a score for a span sent in an earlier batch"
            assert re.fullmatch(r"[0-9a-f]{32}", s["trace_id"]) and re.fullmatch(r"[0-9a-f]{16}", s["span_id"])
            total += 1
            if s.get("kind") == "feedback" or s["name"] in ("feedback", "user_feedback"):
                feedback += 1
                assert s.get("value") in (1, -1) or s.get("label") in ("thumbs_up", "thumbs_down")
            else:
                assert 0 <= s["value"] <= 1 and s["label"] in ("pass", "fail")
        seen |= {(r.trace_id, r.span_id) for r in rows(b)}
    assert total > 20 and 0 < feedback < total
    assert normal[0].scores == []


def test_messy_realism(normal_rows):
    http = [r for r in normal_rows if r.name == "POST"]
    assert http and all("http.request.method" in r.attrs and not any(k.startswith("gen_ai.") for k in r.attrs)
                        for r in http)
    # two vocabularies on one span
    assert any("llm.request.type" in r.attrs and "gen_ai.provider.name" in r.attrs for r in normal_rows)
    assert any("openinference.span.kind" in r.attrs and "gen_ai.usage.input_tokens" in r.attrs for r in normal_rows)
    # resource attributes copied onto spans
    assert any(r.attrs.get("service.name") == r.service and "service.version" in r.attrs for r in normal_rows)
    # prompt version: span attribute and resource attribute
    assert any(C.PROMPT_VERSION_ATTR in r.attrs for r in normal_rows)
    assert any(C.PROMPT_VERSION_ATTR in r.resource for r in normal_rows)
    # prompt / completion text with a (fake) e-mail address to exercise redaction
    texts = [v for r in normal_rows for k, v in r.attrs.items()
             if isinstance(v, str) and k in ("gen_ai.prompt.0.content", "input.value", "gen_ai.input.messages",
                                            "gen_ai.completion.0.content", "gen_ai.output.messages")]
    assert any(re.search(r"[\w.]+@example\.(com|org|net)", t) for t in texts)


def test_guardrails_trigger_rarely():
    rows = all_rows(run(seed=1, batches=60))
    answers = [r for r in rows if r.service == "support-bot" and r.is_llm and not r.error]
    blocked = [r for r in answers if r.attrs.get(C.GUARDRAIL_ATTR) is True]
    assert blocked and len(blocked) / len(answers) < 0.02
    for r in blocked:
        assert r.attrs[C.GUARDRAIL_NAME_ATTR] and r.finish_reasons in (["content_filter"], ["refusal"])


def test_latencies_and_tokens_are_plausible(normal_rows):
    chats = [r for r in normal_rows if r.is_llm and not r.error and r.finish_reasons]
    durations = sorted((r.end_ns - r.start_ns) / 1e9 for r in chats)
    p50 = durations[len(durations) // 2]
    assert 0.5 < p50 < 15 and durations[-1] < 300
    outs = [r.output_tokens for r in chats if r.output_tokens is not None]
    assert 20 < sorted(outs)[len(outs) // 2] < 2000


def test_unknown_scenario_is_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        Traffic(scenario="meteor_strike")
    assert set(SCENARIOS) == {"provider_outage", "latency_regression", "cost_spike", "quality_drop",
                              "safety_failure", "runaway_agent", "truncation_spike", "unpriced_model"}


def test_scenario_waits_for_its_onset():
    t = Traffic(seed=2, scenario="unpriced_model", start_ns=NOW_NS, onset_s=10)
    early = [op for i in range(5) for op in t.batch(50, NOW_NS + i * 10**9).ops]
    late = [op for i in range(10, 20) for op in t.batch(50, NOW_NS + i * 10**9).ops]
    assert not any(op.model == "acme-llm-9000" for op in early)
    assert any(op.model == "acme-llm-9000" for op in late)


def test_ground_truth_matches_the_spans(normal):
    b = normal[5]
    by_id = {(r.trace_id, r.span_id): r for r in rows(b)}
    assert len(by_id) == len(b.ops)
    for op in b.ops:
        r = by_id[(op.trace_id_hex, op.span_id_hex)]
        assert r.service == op.service and r.error == (op.error is not None)
        if op.is_llm and op.error is None and op.operation == "chat":
            assert r.output_tokens == op.output_tokens, (op.dialect, r.attrs)


def test_a_failed_call_is_retried_once(normal):
    for b in normal:
        ops = b.ops
        for i, op in enumerate(ops):
            if op.is_llm and op.error is not None and not op.retry:
                retry = next(o for o in ops[i + 1:] if o.is_llm and o.trace_id == op.trace_id)
                assert retry.retry and retry.model == op.model and retry.start_ns > op.end_ns
                assert retry.parent_span_id == op.parent_span_id or retry.dialect == "vllm"
    spans = all_rows(normal)
    assert any(r.attrs.get(C.RETRY_ATTR) is True for r in spans)
    # agents survive a failed call that a retry fixed: their spans rarely fail
    agents = [r for r in spans if r.attrs.get("gen_ai.operation.name") == "invoke_agent"]
    assert sum(r.error for r in agents) / len(agents) < 0.01


def test_every_tool_of_a_service_is_called_about_equally_often(normal_rows):
    """The tools' median durations were once used as their weights: coding-agent called
    run_tests (4 s) 98 % of the time and read_file (0.01 s) almost never."""
    for service, tools in C.TOOLS.items():
        seen = collections.Counter(r.attrs.get("gen_ai.tool.name") for r in normal_rows
                                   if r.service == service and r.attrs.get("gen_ai.operation.name") == "execute_tool")
        total = sum(seen.values())
        assert total >= 20 * len(tools), (service, seen)
        for name, _median in tools:
            assert seen[name] >= total / len(tools) / 2, (service, seen)
