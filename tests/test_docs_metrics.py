"""docs/metrics.md lists exactly the metrics the exporter exposes."""

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from llmpulse.app import Exporter
from llmpulse.config import load_config

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


def exposed_names() -> set[str]:
    reg = CollectorRegistry()
    cfg = load_config(environ={}, overrides={"forward": {"otlp": {"endpoint": "http://127.0.0.1:9"}}})
    Exporter(cfg, registry=reg)     # families register on construction
    names = set()
    for fam in reg.collect():
        names.add(fam.name + "_total" if fam.type == "counter" else fam.name)
    return names


def documented_names() -> set[str]:
    return set(re.findall(r"^\| `([a-z_:]+)` \|", DOC.read_text(), flags=re.M)) - {
        "service_name", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"}


def test_every_exposed_metric_is_documented_and_nothing_else():
    exposed, documented = exposed_names(), documented_names()
    assert exposed - documented == set(), "exposed but not in docs/metrics.md"
    assert documented - exposed == set(), "documented but not exposed"


def test_no_family_exposes_a_series_the_docs_do_not_name():
    """Only `_total`, `_bucket`/`_sum`/`_count` beside the documented names: no `_created`
    (two counters built on client_python's Counter exposed one, stored by Prometheus as a family
    of its own)."""
    reg = CollectorRegistry()
    cfg = load_config(environ={}, overrides={"forward": {"otlp": {"endpoint": "http://127.0.0.1:9"}}})
    Exporter(cfg, registry=reg)
    allowed = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",), "info": ("_info",)}
    odd = sorted({s.name for fam in reg.collect() for s in fam.samples
                  if s.name not in {fam.name + suffix for suffix in allowed.get(fam.type, ("",))}})
    assert odd == []


def test_forwarding_families_exist_only_with_forwarding_on_as_documented():
    """docs/metrics.md: the `llmpulse_forward_*` families are registered only when a sink is configured,
    with a series for each configured sink."""
    assert "registered only when forwarding is on" in DOC.read_text()

    def forward_series(overrides: dict) -> set[tuple[str, str]]:
        reg = CollectorRegistry()
        Exporter(load_config(environ={}, overrides=overrides), registry=reg)
        return {(s.name, s.labels.get("sink", "")) for fam in reg.collect() for s in fam.samples
                if fam.name.startswith("llmpulse_forward_")}

    assert forward_series({}) == set()
    loki_only = forward_series({"forward": {"loki": {"url": "http://127.0.0.1:9"}}})
    assert {sink for _, sink in loki_only} == {"loki"}
    assert ("llmpulse_forward_queue_length", "loki") in loki_only


def test_missing_provider_and_model_label_values_are_as_documented():
    """docs/metrics.md, Labels: no provider -> "unknown" (the model id does not name one); no model -> ""."""
    from llmpulse.dialects import Normalizer
    from llmpulse.otlp import RawSpan

    assert 'keeps `gen_ai_request_model=""`' in DOC.read_text()
    n = Normalizer(load_config(environ={}))

    def labels(attrs: dict) -> tuple[str, str]:
        c = n.normalize(RawSpan("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "", "x", 1, 10**9,
                                3 * 10**9, 0, "", attrs, [], {"service.name": "shop"}, ""))
        return c.provider, c.request_model

    assert labels({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"}) == ("unknown", "")
    assert labels({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}) == ("unknown", "")
    assert labels({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}) == ("unknown", "gpt-4o")
    assert labels({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}) == ("openai", "")
