"""`llmpulse demo` on the command line: flags, --target, the embedded exporter."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from demo_receiver import Receiver
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmpulse import cli
from llmpulse.commands import demo as cmd
from llmpulse.demo.scenarios import SCENARIOS


def _args(*argv: str):
    return cli.build_parser().parse_args(["demo", *argv])


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


DOCS_DEMO = Path(__file__).resolve().parents[1] / "docs" / "demo.md"
NO_VALUE = {"none", "forever", "embedded exporter", "off"}


def test_the_flag_table_in_docs_demo_states_the_parsers_defaults():
    """Each row of docs/demo.md's flag table that names one flag gives the default the parser uses."""
    a = _args()
    assert a.func is cmd.run
    rows = re.findall(r"^\| `(--[a-z-]+)[^`]*` \| ([^|]+?) \|", DOCS_DEMO.read_text(), re.M)
    assert len(rows) >= 8, rows
    for flag, documented in rows:
        actual = getattr(a, flag[2:].replace("-", "_"))
        if documented in NO_VALUE:
            assert actual in (None, False), (flag, actual)
        else:
            assert actual == type(actual)(documented), (flag, documented, actual)


def test_list_scenarios_names_each_alert(capsys):
    assert cli.main(["demo", "--list-scenarios"]) == 0
    out = capsys.readouterr().out
    for name, sc in SCENARIOS.items():
        assert name in out and sc.alert in out


@pytest.mark.parametrize("argv, message", [
    (["--scenario", "meteor"], "unknown scenario"),
    (["--rate", "0"], "--rate"),
    (["--duration", "-1"], "--duration"),
    (["--target", "localhost:4318"], "http"),
    (["--target", "http://x:4318", "--metrics-port", "1"], "--metrics-port"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    assert cli.main(["demo", *argv]) == 2
    assert message in capsys.readouterr().err


def test_target_receives_decodable_traffic(receiver):
    out = io.StringIO()
    rc = cmd.run(_args("--target", receiver.url, "--duration", "1.5", "--rate", "30", "--seed", "5"), out=out)
    assert rc == 0
    traces = [r for r in receiver.requests if r["path"] == "/v1/traces"]
    assert len(traces) >= 2    # ticks at 0 s and 1 s
    calls = 0
    for r in traces:
        msg = ExportTraceServiceRequest()
        msg.ParseFromString(r["body"])
        calls += len(msg.resource_spans)
    assert calls > 0
    text = out.getvalue()
    assert f"sending to {receiver.url}" in text and "llmpulse demo: done" in text and "spans" in text


def test_json_gzip_scenario_flags_reach_the_wire(receiver):
    out = io.StringIO()
    rc = cmd.run(_args("--target", receiver.url, "--duration", "0.5", "--encoding", "json", "--gzip",
                       "--scenario", "unpriced_model"), out=out)
    assert rc == 0
    req = next(r for r in receiver.requests if r["path"] == "/v1/traces")
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["headers"]["Content-Encoding"] == "gzip"
    assert "scenario unpriced_model -> LLMUnpricedModel" in out.getvalue()


def test_unreachable_target_exits_1():
    r = Receiver()
    url = r.url
    r.stop()
    out = io.StringIO()
    assert cmd.run(_args("--target", url, "--duration", "0.3"), out=out) == 1
    assert "failed" in out.getvalue()


@pytest.mark.slow
def test_embedded_exporter_starts_serves_and_stops(capsys):
    pytest.importorskip("llmpulse.app")
    rc = cli.main(["demo", "--duration", "1.2", "--host", "127.0.0.1", "--otlp-http-port", "0",
                   "--otlp-grpc-port", "0", "--metrics-port", "0"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "metrics at http://127.0.0.1:" in out and "/metrics" in out
    assert " 0 failed" not in out and "done" in out


@pytest.mark.slow
@pytest.mark.parametrize("how", ["config", "environment"])
def test_the_embedded_exporter_with_a_token_gets_traffic_with_that_token(how, tmp_path, monkeypatch, capsys):
    """`llmpulse demo --config` with auth.token set (or LLMPULSE_AUTH_TOKEN exported for `serve`): the
    generator sent no token, and every span, log and score was refused with 401."""
    pytest.importorskip("llmpulse.app")
    argv = ["demo", "--duration", "1.2", "--host", "127.0.0.1", "--otlp-http-port", "0", "--otlp-grpc-port", "0",
            "--metrics-port", "0"]
    if how == "config":
        (tmp_path / "llmpulse.yaml").write_text("auth:\n  token: s3cret\n")
        argv += ["--config", str(tmp_path / "llmpulse.yaml")]
    else:
        monkeypatch.setenv("LLMPULSE_AUTH_TOKEN", "s3cret")
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "done" in out and "failed" not in out and "401" not in out, out
    assert not re.search(r"spans 0 sent", out), out


def test_token_file_sends_the_bearer_token(receiver, tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    rc = cmd.run(_args("--target", receiver.url, "--duration", "0.5", "--token-file", str(token)), out=io.StringIO())
    assert rc == 0
    assert {r["headers"].get("Authorization") for r in receiver.requests} == {"Bearer s3cret-token"}
    empty = tmp_path / "empty"
    empty.write_text("")
    receiver.requests.clear()
    assert cmd.run(_args("--target", receiver.url, "--duration", "0.5", "--token-file", str(empty)), out=io.StringIO()) == 0
    assert receiver.requests and all("Authorization" not in r["headers"] for r in receiver.requests)


@pytest.mark.parametrize("argv, message", [
    (["--token-file", "/nonexistent"], "only with --target"),
    (["--target", "http://127.0.0.1:9", "--token-file", "/nonexistent/token"], "cannot read"),
])
def test_token_file_usage_errors(capsys, argv, message):
    assert cli.main(["demo", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_engine_metrics_port_serves_fake_vllm_and_sglang(receiver):
    import re
    import threading
    import time

    import requests

    out = io.StringIO()
    t = threading.Thread(target=cmd.run, args=(_args("--target", receiver.url, "--duration", "4",
                                                     "--engine-metrics-port", "0"),), kwargs={"out": out})
    t.start()
    try:
        deadline = time.monotonic() + 3
        while not re.search(r"fake engines at", out.getvalue()) and time.monotonic() < deadline:
            time.sleep(0.05)
        vllm, sglang = re.findall(r"http://[\d.:]+/metrics", out.getvalue())
        assert 'vllm:kv_cache_usage_perc{engine="0",model_name="llama-3.1-8b-instruct"}' in requests.get(vllm, timeout=2).text
        assert "sglang:token_usage{" in requests.get(sglang, timeout=2).text
    finally:
        t.join(10)
    assert not t.is_alive()
