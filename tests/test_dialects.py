"""Each dialect's spans become the same normalised Call."""

import pytest

from llmpulse import otlp
from llmpulse.config import load_config
from llmpulse.dialects import Normalizer, SpanRejected
from otlpdata import span, traces_request


def norm(attrs, resource=None, scope="test", cfg=None, **kw):
    body = traces_request([span(attrs, **kw)], resource=resource, scope=scope).SerializeToString()
    [raw] = otlp.decode_traces(body, otlp.PROTOBUF)
    return Normalizer(cfg or load_config()).normalize(raw)


def test_otel_current():
    c = norm({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
              "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 100,
              "gen_ai.usage.output_tokens": 20, "gen_ai.usage.reasoning.output_tokens": 5,
              "gen_ai.response.finish_reasons": ["stop"], "gen_ai.request.stream": True,
              "gen_ai.response.time_to_first_chunk": 0.25, "gen_ai.conversation.id": "conv-1"},
             resource={"service.name": "shop", "service.version": "2.0"}, duration_s=2.0)
    assert (c.dialect, c.operation, c.provider, c.request_model, c.response_model) == \
        ("otel", "chat", "openai", "gpt-4o", "gpt-4o-2024-08-06")
    assert (c.input_tokens, c.output_tokens, c.reasoning_tokens) == (100, 20, 5)
    assert c.streaming and c.ttft_s == 0.25 and c.duration_s == 2.0
    assert c.finish_reasons == ("stop",) and c.conversation_id == "conv-1"
    assert (c.service, c.service_version, c.error_type) == ("shop", "2.0", "")


def test_otel_legacy_names():
    c = norm({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4", "gen_ai.usage.prompt_tokens": 11,
              "gen_ai.usage.completion_tokens": 7}, name="chat gpt-4")
    assert (c.dialect, c.operation, c.provider, c.input_tokens, c.output_tokens) == \
        ("otel_legacy", "chat", "openai", 11, 7)


def test_openllmetry_legacy():
    c = norm({"gen_ai.system": "Anthropic", "llm.request.type": "completion", "gen_ai.request.model": "claude-2",
              "llm.usage.prompt_tokens": 40, "llm.usage.completion_tokens": 8, "llm.usage.total_tokens": 48,
              "gen_ai.prompt.0.content": "hello", "gen_ai.completion.0.finish_reason": "max_tokens",
              "traceloop.association.properties.session_id": "s-9"}, name="anthropic.completion")
    assert (c.dialect, c.operation, c.provider) == ("openllmetry", "text_completion", "anthropic")
    assert (c.input_tokens, c.output_tokens, c.finish_reasons) == (40, 8, ("length",))
    assert c.conversation_id == "s-9"


def test_openllmetry_workflow_and_tool_kinds():
    assert norm({"traceloop.span.kind": "workflow", "traceloop.workflow.name": "w"}).operation == "invoke_workflow"
    tool = norm({"traceloop.span.kind": "tool", "traceloop.entity.name": "search_web"}, name="search_web.tool")
    assert (tool.operation, tool.tool_name) == ("execute_tool", "search_web")
    # task spans are plumbing, not operations
    assert norm({"traceloop.span.kind": "task", "traceloop.entity.name": "x"}) is None


def test_openinference_llm_with_invocation_parameters():
    c = norm({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini-2024-07-18",
              "llm.provider": "azure", "llm.system": "openai",
              "llm.invocation_parameters": '{"model": "gpt-4o-mini", "stream": true}',
              "llm.token_count.prompt": 300, "llm.token_count.completion": 30,
              "llm.token_count.prompt_details.cache_read": 200, "llm.cost.total": 0.0012, "session.id": "sess",
              "evaluations.0.evaluation.name": "relevance", "evaluations.0.evaluation.score": 0.8,
              "evaluations.0.evaluation.label": "PASS"},
             events=[("First Token Stream Event", 0.4, {})])
    assert (c.dialect, c.operation, c.provider) == ("openinference", "chat", "azure.ai.openai")
    assert (c.request_model, c.response_model) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert (c.input_tokens, c.cache_read_tokens, c.output_tokens) == (300, 200, 30)
    assert c.span_cost_usd == 0.0012 and c.conversation_id == "sess"
    assert c.streaming and c.ttft_s == pytest.approx(0.4)
    assert [(e.name, e.score, e.label) for e in c.evals] == [("relevance", 0.8, "pass")]


def test_openinference_kinds():
    assert norm({"openinference.span.kind": "RETRIEVER"}).operation == "retrieval"
    assert norm({"openinference.span.kind": "EMBEDDING", "embedding.model_name": "e"}).operation == "embeddings"
    assert norm({"openinference.span.kind": "TOOL", "tool.name": "calc"}).tool_name == "calc"
    assert norm({"openinference.span.kind": "AGENT", "agent.name": "planner"}).agent_name == "planner"
    assert norm({"openinference.span.kind": "CHAIN"}, parent=b"\x01" * 8) is None
    assert norm({"openinference.span.kind": "CHAIN"}).operation == "invoke_workflow"   # a root chain


def test_openlit():
    c = norm({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "mistral_ai",
              "gen_ai.request.model": "mistral-large-latest", "gen_ai.usage.input_tokens": 10,
              "gen_ai.usage.output_tokens": 10, "gen_ai.usage.cost": 0.5, "gen_ai.server.time_to_first_token": 0.7,
              "gen_ai.server.time_per_output_token": 0.02, "gen_ai.request.stream": True,
              "gen_ai.session.id": "x"})
    assert (c.dialect, c.span_cost_usd, c.ttft_s, c.tpot_s, c.conversation_id) == ("openlit", 0.5, 0.7, 0.02, "x")


def test_vllm_span():
    c = norm({"gen_ai.request.model": "meta-llama/Llama-3.1-8B-Instruct", "gen_ai.usage.prompt_tokens": 50,
              "gen_ai.usage.completion_tokens": 60, "gen_ai.latency.time_to_first_token": 0.09,
              "gen_ai.latency.e2e": 1.2, "gen_ai.request.id": "r1"}, name="llm_request")
    assert (c.dialect, c.provider, c.operation, c.ttft_s, c.input_tokens) == ("vllm", "vllm", "chat", 0.09, 50)


def test_two_vocabularies_on_one_span_count_once_with_current_names_first():
    c = norm({"gen_ai.provider.name": "anthropic", "gen_ai.system": "Anthropic", "gen_ai.operation.name": "chat",
              "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 10,
              "gen_ai.usage.prompt_tokens": 999, "llm.usage.prompt_tokens": 999})
    assert (c.provider, c.input_tokens) == ("anthropic", 10)


@pytest.mark.parametrize("raw,expected", [
    ("az.ai.openai", "azure.ai.openai"), ("vertex_ai", "gcp.vertex_ai"), ("gemini", "gcp.gemini"),
    ("xai", "x_ai"), ("MistralAI", "mistral_ai"), ("AWS", "aws.bedrock"), ("openai", "openai")])
def test_provider_aliases(raw, expected):
    assert norm({"gen_ai.system": raw, "gen_ai.request.model": "m"}).provider == expected


@pytest.mark.parametrize("attrs,expected", [
    # OTel: input includes cached tokens
    ({"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.cache_read.input_tokens": 800}, (1000, 800, 0)),
    # Anthropic raw usage style: cache beside input (sum exceeds input) -> added once
    ({"gen_ai.usage.input_tokens": 50, "gen_ai.usage.cache_read_input_tokens": 800,
      "gen_ai.usage.cache_creation_input_tokens": 100}, (950, 800, 100)),
    # new cache_write name wins over the older cache_creation name
    ({"gen_ai.usage.input_tokens": 500, "gen_ai.usage.cache_write.input_tokens": 100,
      "gen_ai.usage.cache_creation.input_tokens": 7}, (500, 0, 100)),
])
def test_cached_tokens_never_counted_twice(attrs, expected):
    c = norm({"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5", **attrs})
    assert (c.input_tokens, c.cache_read_tokens, c.cache_write_tokens) == expected


def test_input_excludes_cache_configured_per_scope():
    cfg = load_config(overrides={"tokens": {"input_excludes_cache": ["opentelemetry.instrumentation.anthropic"]}})
    c = norm({"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 500,
              "gen_ai.usage.cache_read.input_tokens": 300}, scope="opentelemetry.instrumentation.anthropic", cfg=cfg)
    assert (c.input_tokens, c.cache_read_tokens) == (800, 300)


def test_ttft_from_the_earliest_chunk_event():
    c = norm({"gen_ai.system": "openai", "gen_ai.request.model": "m"},
             events=[("llm.content.completion.chunk", 0.3, {}), ("llm.content.completion.chunk", 0.2, {})])
    assert c.ttft_s == pytest.approx(0.2) and c.streaming


def test_ttft_explicit_first_token_event_wins():
    c = norm({"gen_ai.provider.name": "openai", "gen_ai.request.model": "m"},
             events=[("gen_ai.content.chunk", 0.1, {}), ("gen_ai.first_chunk", 0.35, {})])
    assert c.ttft_s == pytest.approx(0.35) and c.streaming


@pytest.mark.parametrize("status,attrs,events,expected,raw", [
    (2, {"error.type": "rate_limit_exceeded"}, [], "rate_limited", "rate_limit_exceeded"),
    (2, {}, [("exception", 0.1, {"exception.type": "openai.APITimeoutError"})], "timeout", "openai.APITimeoutError"),
    (2, {}, [], "_OTHER", "_OTHER"),
    (0, {"error.type": "timeout"}, [], "timeout", "timeout"),
    (1, {}, [], "", ""),
])
def test_error_type(status, attrs, events, expected, raw):
    c = norm({"gen_ai.provider.name": "openai", "gen_ai.request.model": "m", **attrs}, status=status, events=events)
    assert (c.error_type, c.error_raw) == (expected, raw)


@pytest.mark.parametrize("raw,expected", [
    (["length"], ("length",)), (["max_tokens"], ("length",)), ("MAX_TOKENS", ("length",)),
    (["end_turn"], ("stop",)), (["tool_use"], ("tool_calls",)), (["SAFETY"], ("content_filter",)),
    ('["stop", "length"]', ("stop", "length")), (["weird"], ("other",))])
def test_finish_reasons_normalised(raw, expected):
    c = norm({"gen_ai.provider.name": "x", "gen_ai.request.model": "m", "gen_ai.response.finish_reasons": raw})
    assert c.finish_reasons == expected


def test_request_model_from_span_name_and_invocation_parameters():
    assert norm({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"},
                name="chat gpt-4.1").request_model == "gpt-4.1"


def test_non_genai_spans_are_skipped():
    assert norm({"http.request.method": "POST", "url.full": "https://api.openai.com/v1/chat"}, name="POST") is None
    # resource attributes copied onto a span do not make it GenAI
    assert norm({"service.name": "svc", "telemetry.sdk.language": "python"}, name="handler") is None


@pytest.mark.parametrize("attrs,reason", [
    ({"gen_ai.usage.input_tokens": -5}, "invalid_tokens"),
    ({"gen_ai.usage.output_tokens": float("nan")}, "invalid_tokens"),
    ({"gen_ai.usage.output_tokens": float("inf")}, "invalid_tokens"),
    ({"gen_ai.usage.cost": -1.0}, "invalid_cost"),
])
def test_invalid_values_are_rejected(attrs, reason):
    with pytest.raises(SpanRejected) as exc:
        norm({"gen_ai.provider.name": "openai", "gen_ai.request.model": "m", **attrs})
    assert exc.value.reason == reason


def test_invalid_times_and_ids_are_rejected():
    base = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "m"}
    with pytest.raises(SpanRejected, match="end time"):
        norm(base, duration_s=-1.0)
    with pytest.raises(SpanRejected, match="future"):
        norm(base, start_ns=otlp_far_future())
    with pytest.raises(SpanRejected, match="trace id"):
        norm(base, trace_id=b"")


def otlp_far_future():
    import time
    return time.time_ns() + 3 * 24 * 3600 * 10**9


def test_eval_event_on_span_and_nan_score_rejected():
    c = norm({"gen_ai.provider.name": "openai", "gen_ai.request.model": "m"},
             events=[("gen_ai.evaluation.result", 0.5, {"gen_ai.evaluation.name": "toxicity",
                                                        "gen_ai.evaluation.score.value": 0.1,
                                                        "gen_ai.evaluation.score.label": "fail"})])
    assert [(e.name, e.score, e.label) for e in c.evals] == [("toxicity", 0.1, "fail")]
    with pytest.raises(SpanRejected) as exc:
        norm({"gen_ai.provider.name": "openai", "gen_ai.request.model": "m"},
             events=[("gen_ai.evaluation.result", 0.5, {"gen_ai.evaluation.name": "x",
                                                        "gen_ai.evaluation.score.value": float("nan")})])
    assert exc.value.reason == "invalid_score"


def test_extra_dimensions_from_span_then_resource():
    cfg = load_config(overrides={"metrics": {"dimensions": [
        {"name": "feature", "attributes": ["app.feature"], "default": "none"},
        {"name": "tenant", "attributes": ["app.tenant"]}]}})
    c = norm({"gen_ai.provider.name": "openai", "gen_ai.request.model": "m", "app.feature": "search"},
             resource={"service.name": "s", "app.tenant": "acme"}, cfg=cfg)
    assert c.dims == ("search", "acme")


def test_signals_from_configurable_attributes():
    c = norm({"gen_ai.provider.name": "openai", "gen_ai.request.model": "m", "llmpulse.guardrail.triggered": True,
              "http.request.resend_count": 2, "llmpulse.cache.hit": "true", "llmpulse.prompt.version": "v7"})
    assert (c.guardrail, c.retry, c.cache_hit, c.fallback, c.prompt_version) == (True, True, True, False, "v7")


def test_one_pass_pick_reads_every_group_as_first_would():
    """Normalizer._pick (one pass over the attributes) == dialects._first per group, on random spans."""
    import random

    from llmpulse import billing, dialects

    cfg = load_config(overrides={"metrics": {"dimensions": [{"name": "feature", "attributes": ["app.feature",
                                                                                        "gen_ai.agent.name"]}]}})
    n = dialects.Normalizer(cfg)
    groups = dialects.GROUPS + (n.prompt_version,) + tuple(names for names, _ in n.dims) + (billing.SERVICE_TIER, billing.USAGE_KEYS)
    names = sorted({name for g in groups for name in g}) + ["other.attribute"]
    rng = random.Random(11)
    values = [None, "", 0, 1, "x", "y", False, [], 2.5]
    for _ in range(3000):
        attrs = {name: rng.choice(values) for name in rng.sample(names, rng.randint(0, 12))}
        picked, _ = n._pick(attrs)
        assert picked == [dialects._first(attrs, g) for g in groups], attrs
    # the same attribute names again and again (as from one instrumentation), other values: the
    # remembered plan must still fall back past empty values as _first does
    shapes = [rng.sample(names, rng.randint(1, 12)) for _ in range(20)]
    for _ in range(3000):
        attrs = {name: rng.choice(values) for name in rng.choice(shapes)}
        assert n._pick(attrs)[0] == [dialects._first(attrs, g) for g in groups], attrs


def test_pick_remembers_a_bounded_number_of_attribute_name_lists(monkeypatch):
    from llmpulse import dialects

    monkeypatch.setattr(dialects, "PLAN_CACHE_SIZE", 8)
    n = dialects.Normalizer(load_config())
    for i in range(100):             # a sender making up attribute names
        assert n._pick({f"made.up.{i}": 1, "gen_ai.usage.input_tokens": i})[0][dialects.G_INPUT] == i
    assert 1 <= len(n._plans) <= 8


def test_the_span_bounds_are_configurable_and_refuse_nonsense():
    """spans.*: the defaults reject a 56-year span, 2^62 tokens and a 1e300 cost (tests/reliability corpus);
    raised, the same span is taken; zero or negative bounds are refused with their paths."""
    from llmpulse.config import ConfigError
    from llmpulse.otlp import RawSpan

    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 2**40,
             "gen_ai.usage.cost": 5e4}
    long_span = RawSpan("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "", "chat m", 3, 10**9,
                        10**9 + 2 * 86_400 * 10**9, 0, "", attrs, [], {"service.name": "s"}, "")
    with pytest.raises(SpanRejected) as e:
        Normalizer(load_config(environ={})).normalize(long_span)
    assert e.value.reason == "invalid_time" and "bounds.max_duration_seconds" in str(e.value)
    roomy = load_config(environ={}, overrides={"bounds": {"max_duration_seconds": 3 * 86_400, "max_tokens": 2**41,
                                                         "max_cost_usd": 1e5}})
    c = Normalizer(roomy).normalize(long_span)
    assert (c.input_tokens, c.span_cost_usd, c.duration_s) == (2**40, 5e4, 2 * 86_400)
    with pytest.raises(ConfigError) as bad:
        load_config(environ={}, overrides={"bounds": {"max_tokens": 0, "max_cost_usd": -1, "max_duration_seconds": 0}})
    assert all(f"bounds.{k}: must be > 0" in str(bad.value) for k in ("max_tokens", "max_cost_usd", "max_duration_seconds"))


def test_a_time_per_output_token_longer_than_the_call_is_not_taken():
    """gen_ai.server.time_per_output_token of 1e300 s on a 2 s span: ignored (derived from the span instead),
    not observed into the histogram's sum, where it would stay for good."""
    from llmpulse.otlp import RawSpan

    def tpot(value):
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.output_tokens": 11,
                 "gen_ai.server.time_per_output_token": value, "gen_ai.server.time_to_first_token": 0.5,
                 "gen_ai.system": "openlit-test"}
        s = RawSpan("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "", "chat m", 3, 10**9, 3 * 10**9, 0,
                    "", attrs, [], {"service.name": "s"}, "")
        return Normalizer(load_config(environ={})).normalize(s).tpot_s

    assert tpot(0.1) == 0.1
    assert tpot(1e300) is None and tpot(2.5) is None
