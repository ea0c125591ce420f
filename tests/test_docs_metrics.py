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
