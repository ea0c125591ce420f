"""The config file: defaults, every error with its path, environment and flags."""

import pytest

from llmpulse.cli import main
from llmpulse.config import ConfigError, load_config


def test_defaults_are_the_documented_ports():
    cfg = load_config(environ={})
    assert (cfg.server.otlp_http_port, cfg.server.otlp_grpc_port, cfg.server.metrics_port) == (4318, 4317, 9464)


def test_every_error_is_reported_with_its_path(tmp_path):
    f = tmp_path / "llmpulse.yaml"
    f.write_text("server:\n  metrics_prot: 1\n  otlp_http_port: 'x'\nmetrics:\n  label_caps: {service_name: 0}\n"
                 "  dimensions:\n    - name: user_id\n      attributes: [enduser.id]\nbogus: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_config(f, environ={})
    # one format for every typed file (llmpulse.typed): file: key path: what was wrong (what is allowed)
    assert exc.value.problems == [
        f"{f}: server.metrics_prot: unknown key (did you mean metrics_port? known: body_timeout_seconds, "
        "grpc_enabled, grpc_keepalive_seconds, grpc_max_idle_seconds, grpc_max_streams_per_connection, "
        "header_timeout_seconds, host, idle_timeout_seconds, ... (18 in all))",
        f"{f}: server.otlp_http_port: must be an integer, got 'x'",
        f"{f}: metrics.dimensions[0].name: 'user_id' is an identifier, never a label",
        f"{f}: metrics.label_caps.service_name: must be >= 1, got 0",
        f"{f}: bogus: unknown key (known: auth, forward, metrics, pricing, server, signals, tokens, tracking)",
    ]


def test_file_and_environment_problems_are_reported_together(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("forward:\n  otlp: {endpoint: 'ftp://tempo', queue_max_requests: 0, max_retries: -1}\n"
                 "  loki: {url: 'http://loki:3100', labels: {service_name: x}, batch_max_lines: 0}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(f, environ={"LLMPULSE_METRICS_PORT": "x"})
    # each problem once, under its own key path, in the format of every typed file
    assert exc.value.problems == [
        f"{f}: forward.otlp.endpoint: must be an http:// or https:// URL, got 'ftp://tempo'",
        f"{f}: forward.otlp.queue_max_requests: must be >= 1, got 0",
        f"{f}: forward.otlp.max_retries: must be >= 0, got -1",
        f"{f}: forward.loki.labels.service_name: set by llmpulse, cannot be a static label",
        f"{f}: forward.loki.batch_max_lines: must be >= 1, got 0",
        "$LLMPULSE_METRICS_PORT: server.metrics_port: must be an integer, got 'x'",
    ]


def test_environment_then_overrides_win(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("server: {metrics_port: 1111, otlp_http_port: 2222}\n")
    cfg = load_config(f, overrides={"server": {"otlp_http_port": 3333}},
                      environ={"LLMPULSE_METRICS_PORT": "4444", "LLMPULSE_AUTH_TOKEN": "t"})
    assert (cfg.server.metrics_port, cfg.server.otlp_http_port, cfg.auth.token) == (4444, 3333, "t")
    with pytest.raises(ConfigError, match="LLMPULSE_METRICS_PORT"):
        load_config(environ={"LLMPULSE_METRICS_PORT": "x"})


def test_cli_reports_bad_config_and_exits_2(tmp_path, capsys):
    f = tmp_path / "c.yaml"
    f.write_text("servr: {}\n")
    assert main(["serve", "--config", str(f)]) == 2
    assert "servr: unknown key" in capsys.readouterr().err


def test_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("llmpulse 0.")


def test_documented_defaults_are_the_real_defaults(tmp_path):
    import dataclasses
    import re
    from pathlib import Path

    import yaml

    from llmpulse.config import Config

    doc = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", doc, re.S).group(1)
    f = tmp_path / "documented.yaml"
    f.write_text(block)
    assert load_config(f, environ={}) == Config()
    assert yaml.safe_load(block) == dataclasses.asdict(Config())


def test_loading_the_config_imports_neither_forwarding_nor_requests():
    """`llmpulse.config` is read by every command: it must not pull in the HTTP client stack."""
    import subprocess
    import sys

    code = ("import sys; from llmpulse.config import load_config; cfg = load_config(); "
            "cfg.forward.otlp.endpoint; "
            "print(sorted(m for m in ('requests', 'urllib3', 'llmpulse.forward', 'llmpulse.forward_http') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_dimension_may_not_take_the_name_of_a_label_llmpulse_sets():
    """A dimension named `service_name` was accepted and every dimensioned family was exposed with
    `service_name` twice, which Prometheus refuses for the whole scrape."""
    from prometheus_client import CollectorRegistry

    from llmpulse.metrics import Metrics

    cfg = load_config(overrides={"metrics": {"dimensions": [{"name": "feature", "attributes": ["app.feature"]}]}},
                      environ={})
    metrics = Metrics(cfg, CollectorRegistry())
    # every label of every family the dimension joins
    labels = {label for family in vars(metrics).values() if "feature" in getattr(family, "labelnames", ())
              for label in family.labelnames} - {"feature"}
    assert "service_name" in labels and "gen_ai_request_model" in labels
    for name in sorted(labels):
        with pytest.raises(ConfigError) as exc:
            load_config(overrides={"metrics": {"dimensions": [{"name": name, "attributes": ["x"]}]}}, environ={})
        assert exc.value.problems == [f"config: metrics.dimensions[0].name: {name!r} is a label llmpulse sets itself"]
    with pytest.raises(ConfigError, match=r"dimensions\[0\]\.name: must be a Prometheus label name"):
        load_config(overrides={"metrics": {"dimensions": [{"name": "__tenant", "attributes": ["x"]}]}}, environ={})


def test_a_misspelled_label_in_label_caps_is_an_error():
    """`label_caps: {gen_ai_request_modle: 50}` was accepted and capped nothing."""
    with pytest.raises(ConfigError) as exc:
        load_config(overrides={"metrics": {"label_caps": {"gen_ai_request_modle": 50, "gen_ai_tool_name": 10}}},
                    environ={})
    (problem,) = exc.value.problems
    assert problem.startswith("config: metrics.label_caps.gen_ai_request_modle: unknown key "
                              "(did you mean gen_ai_request_model? known: ")
    dims = {"dimensions": [{"name": "tenant", "attributes": ["app.tenant"], "cap": 5}]}
    with pytest.raises(ConfigError, match=r"label_caps\.tenant: a dimension's cap is metrics\.dimensions\[0\]\.cap"):
        load_config(overrides={"metrics": {"label_caps": {"tenant": 50}, **dims}}, environ={})
    cfg = load_config(overrides={"metrics": {"label_caps": {"gen_ai_request_model": 50}}}, environ={})
    assert cfg.metrics.caps()["gen_ai_request_model"] == 50


def test_a_number_where_text_is_expected_is_taken_as_written(tmp_path):
    # YAML 1.1 reads 0123 as 83 and 1.10 as 1.1: a token or a default label value written that way was
    # silently another string (the token "83" let nobody in)
    f = tmp_path / "llmpulse.yaml"
    f.write_text("auth: {token: 0123}\nserver: {max_body_bytes: 0x100000}\n"
                 "metrics:\n  dimensions:\n    - {name: feature, attributes: [app.feature], default: 1.10}\n")
    cfg = load_config(f, environ={})
    assert cfg.auth.token == "0123"
    assert cfg.metrics.dimensions[0].default == "1.10"
    assert cfg.server.max_body_bytes == 0x100000 and type(cfg.server.max_body_bytes) is int
