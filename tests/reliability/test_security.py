"""Security: bearer tokens on every ingest path (HTTP and gRPC metadata) compared in constant
time; /metrics never carries prompts, completions, emails, user, session or trace ids (exemplars
excepted); content forwarded to Loki is redacted for the whole PII corpus; no secret is logged;
the container runs as non-root on a read-only filesystem.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import requests
import yaml
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

from forward.conftest import Receiver
from llmpulse.grpc_server import LOGS_SERVICE
from otlpdata import logs_request, span, traces_request

from .helpers import wait_until
from .senders import TRACE_EXPORT, Batch
from .test_retries import count, emit

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-4f9c2e-SECRET-ingest"
PB = {"Content-Type": "application/x-protobuf"}


def grpc_call(target: str, body: bytes, metadata=(), method: str = TRACE_EXPORT):
    with grpc.insecure_channel(target) as ch:
        call = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            call(body, timeout=30, metadata=metadata)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as exc:
            return exc.code(), exc.details()


# ---- authentication

def test_grpc_requires_the_bearer_token_in_metadata(make):
    exp = make(auth={"token": TOKEN})
    body = Batch.make("grpc-auth", 2).protobuf()
    logs = logs_request([(os.urandom(16), os.urandom(8), {"gen_ai.evaluation.name": "x",
                                                          "gen_ai.evaluation.score.value": 1.0})]).SerializeToString()
    for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", TOKEN),),
                     (("authorization", f"Basic {TOKEN}"),), (("x-api-key", TOKEN),)):
        for method, payload in ((TRACE_EXPORT, body), (f"/{LOGS_SERVICE}/Export", logs)):
            code, details = grpc_call(exp.otlp_grpc_target, payload, metadata, method)
            assert code == grpc.StatusCode.UNAUTHENTICATED and details == "unauthorized", metadata
    assert count(exp, "grpc-auth") == 0
    assert grpc_call(exp.otlp_grpc_target, body, (("authorization", f"Bearer {TOKEN}"),))[0] == grpc.StatusCode.OK
    assert grpc_call(exp.otlp_grpc_target, body, (("authorization", f"bearer {TOKEN}"),))[0] == grpc.StatusCode.OK
    assert count(exp, "grpc-auth") == 2
    assert exp.registry.get_sample_value("llmpulse_requests_total", {
        "transport": "grpc", "signal": "traces", "code": "UNAUTHENTICATED"}) == 5


def test_sdk_exporters_authenticate_with_headers(make):
    exp = make(auth={"token": TOKEN})
    emit(HttpSpanExporter(endpoint=exp.otlp_http_url + "/v1/traces", headers={"Authorization": f"Bearer {TOKEN}"}),
         "sdk-auth-http", 3)
    emit(GrpcSpanExporter(endpoint=exp.otlp_grpc_target, insecure=True,
                          headers=(("authorization", f"Bearer {TOKEN}"),)), "sdk-auth-grpc", 3)
    emit(HttpSpanExporter(endpoint=exp.otlp_http_url + "/v1/traces", timeout=5), "sdk-noauth", 3)
    assert count(exp, "sdk-auth-http") == 3 and count(exp, "sdk-auth-grpc") == 3 and count(exp, "sdk-noauth") == 0


def test_tokens_are_compared_in_constant_time(make, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    exp = make(auth={"token": TOKEN})
    body = Batch.make("ct", 1).protobuf()
    requests.post(exp.otlp_http_url + "/v1/traces", data=body, headers={**PB, "Authorization": "Bearer guess"})
    requests.post(exp.otlp_http_url + "/v1/scores", json={}, headers={"Authorization": "Bearer guess"})
    requests.get(exp.metrics_url, headers={"Authorization": "Bearer guess"})
    grpc_call(exp.otlp_grpc_target, body, (("authorization", "Bearer guess"),))
    assert calls == [(b"guess", TOKEN.encode())] * 4
    # and no plain comparison with a token anywhere in the exporter (the dashboard and
    # alert builders only write PromQL, where `token_type!="0"` is a label matcher)
    plain = re.compile(r"token\w*\s*[!=]=|[!=]=\s*[\w.]*token\b", re.I)
    package = REPO / "exporter" / "llmpulse"
    offenders = [f"{p.name}:{i}" for p in package.rglob("*.py")
                 if p.parent not in (package / "dashboards", package / "alerts")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if plain.search(line)]
    assert offenders == []


# ---- /metrics carries no content and no identifiers

SECRETS = {
    "prompt": "PROMPT-7d1e: summarise the merger memo for Contoso",
    "completion": "COMPLETION-9a2b: the merger closes in Q3",
    "email": "jane.secret.doe@example.com",
    "user": "user-31337-secret",
    "session": "session-5e55-secret",
    "conversation": "conv-c0nv-secret",
    "tool_args": "TOOLARGS-{\"account\": \"ACC-991\"}",
    "exception": "EXCMSG-card 4111 1111 1111 1111 declined",
    "eval_text": "EVALWHY-the answer leaked the address",
}


def leaky_spans() -> tuple[list, list[str]]:
    s, ids = SECRETS, []
    common = {"gen_ai.input.messages": json.dumps([{"role": "user", "content": s["prompt"] + " " + s["email"]}]),
              "gen_ai.output.messages": json.dumps([{"role": "assistant", "content": s["completion"]}]),
              "gen_ai.prompt.0.content": s["prompt"], "gen_ai.completion.0.content": s["completion"],
              "input.value": s["prompt"], "output.value": s["completion"], "user.id": s["user"],
              "enduser.id": s["user"], "user.email": s["email"], "session.id": s["session"],
              "gen_ai.conversation.id": s["conversation"], "gen_ai.session.id": s["session"],
              "traceloop.association.properties.user_id": s["user"],
              "traceloop.association.properties.session_id": s["session"],
              "llm.invocation_parameters": json.dumps({"model": "gpt-4o", "user": s["user"]}),
              "gen_ai.tool.call.arguments": s["tool_args"], "gen_ai.request.user": s["email"]}
    variants = [
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
         "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5},
        {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "openai",
         "llm.token_count.prompt": 10, "llm.token_count.completion": 5,
         "evaluations.0.evaluation.name": "faithfulness", "evaluations.0.evaluation.score": 0.5,
         "evaluations.0.evaluation.label": "pass"},
        {"traceloop.span.kind": "llm", "llm.request.type": "chat", "gen_ai.system": "openai",
         "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 10},
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup", "error.type": "ToolError"},
    ]
    spans = []
    for attrs in variants:
        tid, sid = os.urandom(16), os.urandom(8)
        ids += [tid.hex(), sid.hex()]
        spans.append(span({**common, **attrs}, trace_id=tid, span_id=sid, status=2 if "error.type" in attrs else 0,
                          events=[("exception", 0.1, {"exception.type": "ToolError",
                                                      "exception.message": s["exception"]}),
                                  ("gen_ai.evaluation.result", 0.2, {"gen_ai.evaluation.name": "relevance",
                                                                     "gen_ai.evaluation.score.value": 0.9,
                                                                     "gen_ai.evaluation.explanation": s["eval_text"]}),
                                  ("gen_ai.user.message", 0.0, {"content": s["prompt"]})]))
    return spans, ids


def test_metrics_never_carry_content_or_identifiers(make):
    exp = make(tracking={"trace_idle_seconds": 0.1, "conversation_idle_seconds": 0.1})
    spans, ids = leaky_spans()
    resource = {"service.name": "shop", "user.id": SECRETS["user"], "session.id": SECRETS["session"]}
    r = requests.post(exp.otlp_http_url + "/v1/traces", data=traces_request(spans, resource=resource)
                      .SerializeToString(), headers=PB)
    assert r.status_code == 200
    r = requests.post(exp.otlp_http_url + "/v1/scores", json={"scores": [
        {"trace_id": ids[0], "span_id": ids[1], "name": "helpfulness", "value": 0.5},
        {"trace_id": ids[2], "name": "feedback", "label": "thumbs_down"}]})
    assert r.json()["accepted"] == 2
    wait_until(lambda: exp.registry.get_sample_value("llm_trace_operations_count", {"service_name": "shop"}),
               "per-trace histograms observed")
    text = requests.get(exp.metrics_url).text
    om = requests.get(exp.metrics_url, headers={"Accept": "application/openmetrics-text; version=1.0.0"}).text
    om_without_exemplars = "\n".join(line.split(" # {")[0] for line in om.splitlines())
    assert " # {" in om                                   # exemplars are there (and allowed)
    for where, body in (("text", text), ("openmetrics", om_without_exemplars)):
        for what, value in SECRETS.items():
            for piece in {value, value[:16]}:
                assert piece not in body, (where, what, piece)
        for i in ids:
            assert i not in body, (where, "id", i)
    assert "gen_ai_client_operation_duration_seconds_count" in text     # the spans were counted


# ---- content forwarded to Loki is redacted

def test_forwarded_log_content_is_redacted_for_the_whole_pii_corpus(make):
    corpus = yaml.safe_load((REPO / "tests" / "data" / "pii_corpus.yaml").read_text())
    loki = Receiver().start()
    try:
        exp = make(forward={"loki": {"url": loki.url, "batch_interval_seconds": 0.05,
                                     "content": {"enabled": True, "sample_rate": 1.0, "max_chars": 100_000}}})
        spans = [span({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                       "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1,
                       "gen_ai.input.messages": case["text"], "gen_ai.output.messages": f"echo: {case['text']}"})
                 for case in corpus["positives"]]
        assert requests.post(exp.otlp_http_url + "/v1/traces", data=traces_request(spans).SerializeToString(),
                             headers=PB).status_code == 200
        wait_until(lambda: (exp.registry.get_sample_value("llmpulse_forward_sent_total", {"sink": "loki"}) or 0)
                   == len(spans), "every line pushed")
    finally:
        loki.stop()
    pushed = b"".join(r.body for r in loki.requests).decode()
    lines = [json.loads(v[1]) for r in loki.requests for s in json.loads(r.body)["streams"] for v in s["values"]]
    assert len(lines) == len(spans) and all("[REDACTED:" in ln["prompt"] for ln in lines)
    leaked = [c["secret"] for c in corpus["positives"] if c["secret"] in pushed
              or json.dumps(c["secret"])[1:-1] in pushed]
    assert leaked == []


@pytest.mark.parametrize("prefix", ["echo: ", "note=value ", "a: b, ", "user said:"])
def test_a_secret_after_an_ordinary_key_value_is_still_redacted(prefix):
    """Regression: "echo: api_key=XYZ" used to leak XYZ (the scan skipped past "echo"'s value)."""
    from llmpulse.redact import redact
    corpus = yaml.safe_load((REPO / "tests" / "data" / "pii_corpus.yaml").read_text())
    leaked = [c["secret"] for c in corpus["positives"] if c["secret"] in redact(prefix + c["text"])]
    assert leaked == []


# ---- no secret is ever logged

FWD_SECRET, ORG_SECRET, LOKI_PW = "fwd-77aa-SECRET-header", "org-88bb-SECRET", "loki-99cc-SECRET-pw"
WRONG_GUESS = "guess-66dd-SECRET-wrong"
NEVER_LOGGED = (TOKEN, FWD_SECRET, ORG_SECRET, LOKI_PW, WRONG_GUESS)


def exercise(http_url: str, grpc_target: str, metrics_url: str) -> None:
    """Right and wrong tokens on every endpoint, good and bad bodies."""
    good, bad = {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": f"Bearer {WRONG_GUESS}"}
    body = Batch.make("logged", 2).protobuf()
    for h in (good, bad):
        requests.post(http_url + "/v1/traces", data=body, headers={**PB, **h}, timeout=30)
        requests.post(http_url + "/v1/traces", data=b"\x00garbage", headers={**PB, **h}, timeout=30)
        requests.post(http_url + "/v1/scores", json={"trace_id": "a" * 32, "name": "x", "value": 1}, headers=h,
                      timeout=30)
        requests.get(metrics_url, headers=h, timeout=30)
        grpc_call(grpc_target, body, (("authorization", h["Authorization"]),))
        grpc_call(grpc_target, b"\x00garbage", (("authorization", h["Authorization"]),))


def test_no_secret_is_logged_in_process(make, caplog, capfd):
    rejecting = Receiver().start()
    rejecting.script.extend([(400, {})] * 50)        # the sinks refuse: warnings get logged
    host = rejecting.url.split("//")[1]
    caplog.set_level(logging.DEBUG)
    try:
        exp = make(auth={"token": TOKEN}, forward={
            "otlp": {"endpoint": rejecting.url, "headers": {"Authorization": f"Bearer {FWD_SECRET}",
                                                            "X-Scope-OrgID": ORG_SECRET}},
            "loki": {"url": f"http://lokiuser:{LOKI_PW}@{host}", "headers": {"X-Scope-OrgID": ORG_SECRET},
                     "batch_interval_seconds": 0.05}})
        exercise(exp.otlp_http_url, exp.otlp_grpc_target, exp.metrics_url)
        wait_until(lambda: (exp.registry.get_sample_value("llmpulse_forward_dropped_total",
                                                          {"sink": "otlp", "reason": "rejected"}) or 0) >= 1
                   and (exp.registry.get_sample_value("llmpulse_forward_dropped_total",
                                                      {"sink": "loki", "reason": "rejected"}) or 0) >= 1,
                   "both sinks refused")
        exp.forwarder.stop(0.5)
        exp.stop()
    finally:
        rejecting.stop()
    # the sinks did get the headers (so the secrets were in play), but no log line has them
    assert any(r.headers.get("x-scope-orgid") == ORG_SECRET for r in rejecting.requests)
    assert any(r.headers.get("authorization") == f"Bearer {FWD_SECRET}" for r in rejecting.requests)
    assert any(r.levelno >= logging.WARNING for r in caplog.records)          # something was logged
    logged = caplog.text + "".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    out, err = capfd.readouterr()
    for secret in NEVER_LOGGED:
        assert secret not in logged and secret not in out and secret not in err, secret


def test_no_secret_is_logged_by_llmpulse_serve(tmp_path):
    cfg = tmp_path / "llmpulse.yaml"
    cfg.write_text(yaml.safe_dump({"forward": {"otlp": {"endpoint": "http://127.0.0.1:9",
                                                        "headers": {"Authorization": f"Bearer {FWD_SECRET}"},
                                                        "max_retries": 0, "timeout_seconds": 1}}}))
    env = {**os.environ, "LLMPULSE_AUTH_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "llmpulse", "serve", "--config", str(cfg), "--host", "127.0.0.1",
                             "--otlp-http-port", "0", "--otlp-grpc-port", "0", "--metrics-port", "0",
                             "--log-level", "debug"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    try:
        first = proc.stdout.readline()
        m = re.search(r"OTLP/HTTP (\S+)\s+OTLP/gRPC (\S+)\s+metrics (\S+)", first)
        assert m, first
        exercise(m.group(1), m.group(2), m.group(3))
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    assert "DEBUG" in err                     # debug logging was on and wrote something
    for secret in NEVER_LOGGED:
        assert secret not in first + out + err, secret


# ---- the container

def test_container_runs_as_non_root_on_a_read_only_filesystem():
    dockerfile = (REPO / "compose" / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    users = re.findall(r"^USER\s+(\S+)", final_stage, re.M)
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid not in ("root", "0") and (not uid.isdigit() or int(uid) >= 1000), uid
    assert not re.search(r"^\s*(EXPOSE\s+(\d+\s+)*([1-9]\d{0,2}|10[01]\d|102[0-3])\b)", final_stage, re.M), \
        "a privileged port needs root"
    compose = yaml.safe_load((REPO / "compose" / "docker-compose.yml").read_text())
    for name in ("llmpulse", "demo"):
        svc = compose["services"][name]
        assert svc.get("read_only") is True, name
        assert "ALL" in svc.get("cap_drop", []), name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
        assert not svc.get("privileged"), name
        assert str(svc.get("user", "10001")).split(":")[0] not in ("0", "root"), name
    tmpfs = compose["services"]["llmpulse"].get("tmpfs", [])
    assert any(t.startswith("/tmp") for t in tmpfs)        # the only writable place
    vols = compose["services"]["llmpulse"].get("volumes", [])
    assert all(v.endswith(":ro") for v in vols), vols
