"""The /metrics renderer (llmpulse.exposition) against prometheus_client's own exposition of the same registry."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from llmpulse import exposition, otlp
from llmpulse.config import load_config
from llmpulse.demo.traffic import Traffic
from llmpulse.metrics import Metrics
from llmpulse.pipeline import Pipeline
from llmpulse.pricing import PriceTable
from llmpulse.records import Call


def _samples(text: str, openmetrics: bool) -> dict:
    parse = parse_om if openmetrics else parse_text
    out = {}
    for fam in parse(text):
        for s in fam.samples:
            key = (fam.name, fam.type, s.name, tuple(sorted(s.labels.items())))
            assert key not in out, f"duplicate sample {key}"
            ex = None
            if s.exemplar is not None:
                ex = (tuple(sorted(s.exemplar.labels.items())), s.exemplar.value, s.exemplar.timestamp)
            out[key] = (s.value, ex)
    return out


@pytest.fixture(scope="module")
def loaded():
    reg = CollectorRegistry()
    cfg = load_config(overrides={"tracking": {"trace_idle_seconds": 0.001}})
    m = Metrics(cfg, reg)
    pipe = Pipeline(cfg, m, PriceTable.load(cfg.pricing.files))
    traffic = Traffic(seed=3)
    for _ in range(3):
        body = traffic.batch(60, time.time_ns()).traces.SerializeToString()
        pipe.traces(body, otlp.PROTOBUF)
    # awkward label values: quotes, backslashes, newlines, non-ASCII, and a big counter value
    m.record([Call(trace_id="c" * 32, span_id="d" * 16, service='we"ird\\svc\nx', provider="openai",
                   request_model="m\u00e9", start_ns=1, end_ns=3_000_000_001, input_tokens=12_345_678,
                   output_tokens=3)])
    time.sleep(0.01)
    m.sweep()
    Counter("other_things", "A collector that is not llmpulse's.", ["k"], registry=reg).labels("v").inc(2)
    return m, reg


@pytest.mark.parametrize("openmetrics", [False, True])
def test_render_parses_to_the_same_samples_as_prometheus_client(loaded, openmetrics):
    m, reg = loaded
    ours = exposition.render(m, reg, openmetrics).decode()
    theirs = (om_exposition.generate_latest if openmetrics else generate_latest)(reg).decode()
    a, b = _samples(ours, openmetrics), _samples(theirs, openmetrics)
    assert a == b
    assert len(a) > 500
    assert any(k[2] == "other_things_total" for k in a)
    if openmetrics:
        assert ours.endswith("# EOF\n") and ours.count("# EOF") == 1
        assert sum(1 for v in a.values() if v[1] is not None) > 10, "exemplars are kept in OpenMetrics"
    else:
        assert all(v[1] is None for v in a.values())


def test_registry_reads_still_work_after_a_render(loaded):
    m, reg = loaded
    exposition.render(m, reg, False)
    assert reg.get_sample_value("llm_tokens_total", {
        "service_name": 'we"ird\\svc\nx', "gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "m\u00e9", "gen_ai_token_type": "input"}) == 12_345_678.0


def test_label_text_cache_forgets_expired_gauge_series():
    reg = CollectorRegistry()
    clock = [0.0]
    m = Metrics(load_config(), reg, now=lambda: clock[0])
    for i in range(300):
        m.deployment.set(("s", "chat", "p", f"m{i}", "1", ""), 1, clock[0])
        exposition.render(m, reg, False)
        clock[0] += 10_000          # every series expires before the next one is set
    assert len(m.deployment.values) <= 1
    assert len(m.deployment.label_text) <= 2 + 64
