"""Capture what a real instrumentation library sends: run by hand, never in CI (it needs PyPI/npm).

    python tests/captures/capture.py openai-v2            # one emitter
    python tests/captures/capture.py --list               # the emitters it knows
    python tests/captures/capture.py openlit --keep-venv  # reuse /tmp/llmpulse-capture/<emitter> next time

For one emitter it:
  1. makes a throwaway venv under /tmp and installs the pinned versions with uv (pip if uv is missing or
     fails; npm for node emitters);
  2. starts the fake providers (tests/fakes) and a recording OTLP/HTTP receiver on loopback;
  3. runs the emitter's fixed scenario (tests/captures/scenarios/<script>) in that venv;
  4. writes tests/captures/<emitter>-<version>/: requests/ (each OTLP request body as sent),
     expected.json (figures from the fakes' response log), responses.json (that log) and
     metadata.json (pip freeze, parts run, content types, services seen).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fakes import FakeProviders, OtlpRecorder, expected_figures  # noqa: E402

OTEL_SDK = ["opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"]
NODE_OTEL = ["@opentelemetry/api", "@opentelemetry/sdk-trace-base", "@opentelemetry/exporter-trace-otlp-proto",
             "@opentelemetry/resources", "@opentelemetry/context-async-hooks", "zod"]

# traceloop-sdk 0.62.4 requires every OpenLLMetry instrumentation and unpinned OTel contrib ones
# (logging, redis, ...), which pip cannot resolve together today (it gave up after an hour): it is
# installed with --no-deps beside its own requirements and the four instrumentations these scenarios use.
TRACELOOP = {
    "venv": "traceloop", "version_of": "traceloop-sdk", "env": {"TRACELOOP_TRACE_CONTENT": "false"},
    "pip": ["opentelemetry-instrumentation-openai==0.62.4", "opentelemetry-instrumentation-anthropic==0.62.4",
            "opentelemetry-instrumentation-langchain==0.62.4", "opentelemetry-instrumentation-openai-agents==0.62.4",
            "opentelemetry-semantic-conventions-ai>=0.5.1,<0.6", *OTEL_SDK, "opentelemetry-exporter-otlp-proto-grpc",
            "colorama", "cuid", "deprecated", "jinja2", "tenacity", "aiohttp", "pydantic",
            "openai", "anthropic==2.16.0", "langchain-openai", "langgraph", "openai-agents==0.24.0",
            "opentelemetry-instrumentation-logging==0.66b2"],
    # the index has no opentelemetry-instrumentation-threading 0.66b2 (the root of the conflict): 0.66b1 as is
    "pip_nodeps": ["traceloop-sdk==0.62.4", "opentelemetry-instrumentation-threading==0.66b1"],
}

# openlit 1.45.0 needs a dozen OTel contrib instrumentations; their newest releases do not all exist at one
# version on the index, so pip cannot resolve them unpinned: the 0.60b1 / 1.39.1 family, which does
# (1.38 lacks the ConsoleLogRecordExporter that openlit imports).
OPENLIT_PINS = ["opentelemetry-api==1.39.1", "opentelemetry-sdk==1.39.1", "opentelemetry-exporter-otlp==1.39.1",
                "opentelemetry-semantic-conventions==0.60b1", "opentelemetry-instrumentation==0.60b1",
                *(f"opentelemetry-instrumentation-{x}==0.60b1" for x in (
                    "aiohttp-client", "asgi", "django", "falcon", "fastapi", "flask", "httpx", "pyramid", "requests",
                    "starlette", "tornado", "urllib", "urllib3"))]

# name -> how to install and run it. `version_of`: the package whose resolved version names the capture.
EMITTERS: dict[str, dict] = {
    "openai-v2": {"pip": ["opentelemetry-instrumentation-openai-v2==2.3b0", "openai<3", "wrapt<2", *OTEL_SDK],
                  "version_of": "opentelemetry-instrumentation-openai-v2", "script": "openai_v2.py",
                  "note": "2.3b0 breaks with openai 3.x (imports httpx) and wrapt 2.x (wrap_function_wrapper(module=)): "
                          "openai<3 and wrapt<2"},
    "traceloop-openai": {**TRACELOOP, "script": "traceloop_openai.py"},
    "traceloop-anthropic": {**TRACELOOP, "script": "traceloop_anthropic.py",
                            "note": "anthropic 2.16's built-in tracing is on (its default) beside OpenLLMetry's"},
    "traceloop-langchain": {**TRACELOOP, "script": "traceloop_langchain.py"},
    "traceloop-openai-agents": {**TRACELOOP, "script": "traceloop_openai_agents.py"},
    "openinference-openai": {"pip": ["openinference-instrumentation-openai==0.1.66", "openai", *OTEL_SDK],
                             "version_of": "openinference-instrumentation-openai", "script": "openinference_openai.py"},
    "openinference-langchain": {"pip": ["openinference-instrumentation-langchain==0.1.80", "langchain-openai",
                                        "langgraph", *OTEL_SDK],
                                "version_of": "openinference-instrumentation-langchain",
                                "script": "openinference_langchain.py",
                                "env": {"OPENINFERENCE_HIDE_INPUTS": "true", "OPENINFERENCE_HIDE_OUTPUTS": "true",
                                        "OPENINFERENCE_HIDE_INPUT_MESSAGES": "true",
                                        "OPENINFERENCE_HIDE_OUTPUT_MESSAGES": "true"}},
    "openlit": {"pip": ["openlit==1.45.0", "openai", *OPENLIT_PINS], "version_of": "openlit",
                "script": "openlit_sdk.py"},
    "pydantic-ai": {"pip": ["pydantic-ai-slim[openai,anthropic]==2.68.0", *OTEL_SDK], "version_of": "pydantic-ai-slim",
                    "script": "pydantic_ai_agent.py"},
    "anthropic": {"pip": ["anthropic==2.16.0", *OTEL_SDK], "version_of": "anthropic", "script": "anthropic_builtin.py"},
    "openai-agents-v2": {"pip": ["openai-agents==0.24.0", "opentelemetry-instrumentation-openai-agents-v2==0.1.0",
                                 *OTEL_SDK],
                         "version_of": "opentelemetry-instrumentation-openai-agents-v2",
                         "script": "openai_agents_v2.py"},
    "litellm": {"pip": ["litellm==1.110.2", *OTEL_SDK], "version_of": "litellm", "script": "litellm_otel.py",
                "env": {"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                "note": "litellm.callbacks=['otel'], the legacy OpenTelemetry callback (LITELLM_OTEL_V2 unset)"},
    "litellm-otel-v2": {"pip": ["litellm==1.110.2", *OTEL_SDK], "version_of": "litellm", "script": "litellm_otel.py",
                        "env": {"LITELLM_OTEL_V2": "true", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                        "note": "litellm.callbacks=['otel'] with LITELLM_OTEL_V2=true: the typed v2 integration"},
    "strands": {"pip": ["strands-agents[openai,otel]==1.62.0", *OTEL_SDK], "version_of": "strands-agents",
                "script": "strands_agent.py"},
    "google-adk": {"pip": ["google-adk==2.13.0", "litellm==1.110.2", *OTEL_SDK], "version_of": "google-adk",
                   "script": "google_adk.py"},
    "agent-framework": {"pip": ["agent-framework-core==1.23.0", "agent-framework-openai", *OTEL_SDK], "version_of": "agent-framework-core",
                        "script": "agent_framework_agent.py"},
    "semantic-kernel": {"pip": ["semantic-kernel==1.45.0", *OTEL_SDK], "version_of": "semantic-kernel",
                        "script": "semantic_kernel_agent.py",
                        "env": {"SEMANTICKERNEL_EXPERIMENTAL_GENAI_ENABLE_OTEL_DIAGNOSTICS": "true"}},
    "util-genai": {"pip": ["opentelemetry-util-genai==1.3b0", "openai", *OTEL_SDK], "pre": True,
                   "version_of": "opentelemetry-util-genai", "script": "util_genai.py",
                   "note": "no instrumentation on PyPI runs on util-genai 1.3b0 (openai-v2 2.4b0 imports "
                           "opentelemetry.util.genai.instruments, gone in 1.3b0): the scenario reports the real "
                           "openai client's calls through util-genai's TelemetryHandler, as an instrumentation does"},
    "vercel-ai": {"pip": [], "npm": ["ai@6", "@ai-sdk/openai@3", *NODE_OTEL], "version_of": "ai",
                  "script": "vercel_ai.mjs", "note": "ai 6's built-in experimental_telemetry"},
    "vercel-ai-otel": {"pip": [], "npm": ["ai@7", "@ai-sdk/openai@4", "@ai-sdk/otel@1", *NODE_OTEL],
                       "version_of": "@ai-sdk/otel", "script": "vercel_ai.mjs", "env": {"CAPTURE_AI_OTEL": "1"},
                       "note": "ai 7 with the @ai-sdk/otel integration (GenAI-convention spans)"},
}


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


# where the throwaway venvs live (one folder per emitter); LLMPULSE_CAPTURE_ROOT moves them
VENV_ROOT = Path(os.environ.get("LLMPULSE_CAPTURE_ROOT", "/tmp/llmpulse-capture"))


def install_with_uv(venv: Path, spec: dict) -> bool:
    """uv resolves in seconds where pip can backtrack for an hour; False when uv is missing or fails."""
    uv = shutil.which("uv")
    if uv is None or spec.get("installer") == "pip" or os.environ.get("LLMPULSE_CAPTURE_INSTALLER") == "pip":
        return False
    try:
        run([uv, "venv", "-q", "--seed", "--python", sys.executable, str(venv)])   # --seed: pip, for freeze()
        cmd = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        if spec.get("pre"):
            cmd.append("--prerelease=allow")
        run(cmd + spec["pip"])
        return True
    except subprocess.CalledProcessError as exc:
        print(f"uv failed ({exc}); falling back to pip", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        return False


def make_venv(name: str, spec: dict, keep: bool) -> Path:
    root = VENV_ROOT / spec.get("venv", name)
    venv = root / "venv"
    marker = root / "installed.json"
    pins = {k: spec.get(k) for k in ("pip", "pip_nodeps", "npm", "pre")}
    if keep and marker.exists() and json.loads(marker.read_text()) == pins:
        return venv
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    if spec["pip"] and not install_with_uv(venv, spec):
        run([sys.executable, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        if spec.get("pre"):
            pip.append("--pre")
        run(pip + spec["pip"])
    elif not spec["pip"]:
        run([sys.executable, "-m", "venv", str(venv)])          # node emitters: a venv only for freeze()
    if spec.get("pip_nodeps"):
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
             *spec["pip_nodeps"]])
    if spec.get("npm"):
        (root / "node").mkdir()
        (root / "node" / "package.json").write_text('{"name": "capture", "private": true, "type": "module"}')
        run(["npm", "install", "--no-audit", "--no-fund", "--silent", *spec["npm"]], cwd=root / "node")
    marker.write_text(json.dumps(pins))
    return venv


def freeze(venv: Path, root: Path) -> dict[str, str]:
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"], check=True,
                         capture_output=True, text=True).stdout
    versions = {}
    for line in out.splitlines():
        if "==" in line:
            k, v = line.split("==", 1)
            versions[k.lower().replace("_", "-")] = v
    lock = root / "node" / "package-lock.json"
    if lock.exists():
        for path, info in json.loads(lock.read_text()).get("packages", {}).items():
            if path.startswith("node_modules/") and "version" in info:
                versions["npm:" + path[len("node_modules/"):]] = info["version"]
    return versions


def services_in(rec) -> list[str]:
    """service.name values in a recorded request (protobuf or JSON), for the metadata."""
    body = gzip.decompress(rec.body) if rec.content_encoding == "gzip" else rec.body
    if rec.content_type == "application/json":
        doc = json.loads(body or b"{}")
        key = {"traces": "resourceSpans", "metrics": "resourceMetrics", "logs": "resourceLogs"}[rec.signal]
        return [a["value"].get("stringValue", "") for r in doc.get(key, [])
                for a in r.get("resource", {}).get("attributes", []) if a["key"] == "service.name"]
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    cls = {"traces": trace_service_pb2.ExportTraceServiceRequest,
           "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
           "logs": logs_service_pb2.ExportLogsServiceRequest}[rec.signal]
    msg = cls.FromString(body)
    res = {"traces": "resource_spans", "metrics": "resource_metrics", "logs": "resource_logs"}[rec.signal]
    return [a.value.string_value for r in getattr(msg, res) for a in r.resource.attributes if a.key == "service.name"]


def capture(name: str, keep: bool, out_root: Path) -> Path:
    spec = EMITTERS[name]
    venv = make_venv(name, spec, keep)
    root = venv.parent
    versions = freeze(venv, root)
    version = versions.get(spec["version_of"]) or versions.get("npm:" + spec["version_of"], "unknown")
    service = f"cap-{name}"
    fake, rx = FakeProviders().start(), OtlpRecorder().start()
    parts_file = root / "parts.json"
    parts_file.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ANTHROPIC_"))}
    env.update({
        "OPENAI_BASE_URL": fake.openai_base_url, "OPENAI_API_KEY": "sk-fake-capture",
        "ANTHROPIC_BASE_URL": fake.anthropic_base_url, "ANTHROPIC_API_KEY": "sk-ant-fake-capture",
        "OTEL_EXPORTER_OTLP_ENDPOINT": rx.url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": service, "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_BLRP_SCHEDULE_DELAY": "200",
        "CAPTURE_PARTS_FILE": str(parts_file), "PYTHONPATH": str(HERE / "scenarios"),
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        **spec.get("env", {}),
    })
    script = HERE / "scenarios" / spec["script"]
    started = time.time()
    try:
        if script.suffix == ".mjs":
            env["NODE_PATH"] = str(root / "node" / "node_modules")
            shutil.copy(script, root / "node" / script.name)
            proc = subprocess.run(["node", script.name], cwd=root / "node", env=env, capture_output=True,
                                  text=True, timeout=600)
        else:
            proc = subprocess.run([str(venv / "bin" / "python"), str(script)], env=env, capture_output=True,
                                  text=True, timeout=600)
        time.sleep(spec.get("settle", 2.0))        # stragglers from background exporters
    finally:
        fake.stop()
        rx.stop()
    print(proc.stdout[-3000:])
    print(proc.stderr[-5000:], file=sys.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"scenario {script.name} exited {proc.returncode}")
    parts = json.loads(parts_file.read_text()) if parts_file.exists() else {"parts": []}

    out = out_root / f"{name}-{version}"
    shutil.rmtree(out, ignore_errors=True)
    (out / "requests").mkdir(parents=True)
    index, services = [], set()
    for i, rec in enumerate(rx.requests, 1):
        if rec.signal == "metrics" and not spec.get("keep_metrics", True):
            continue
        ext = {"application/json": "json", "application/x-protobuf": "pb"}.get(rec.content_type, "bin")
        fname = f"{i:03d}-{rec.signal}.{ext}" + (".gz" if rec.content_encoding == "gzip" else "")
        (out / "requests" / fname).write_bytes(rec.body)
        services.update(services_in(rec))
        index.append({"file": fname, "signal": rec.signal, "content_type": rec.content_type,
                      "content_encoding": rec.content_encoding, "bytes": len(rec.body)})
    records = fake.log.records()
    (out / "responses.json").write_text(json.dumps(records, indent=1) + "\n")
    expected = expected_figures(records, service)
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    meta = {
        "emitter": name, "version": version, "version_of": spec["version_of"], "service": service,
        "captured": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": subprocess.run([str(venv / "bin" / "python"), "-V"], capture_output=True, text=True).stdout.strip(),
        "pip_install": spec["pip"], "npm_install": spec.get("npm", []), "script": spec["script"],
        "scenario": parts, "requests": index, "services_seen": sorted(services),
        "seconds": round(time.time() - started, 1), "note": spec.get("note", ""),
        "pip_freeze": versions,
    }
    (out / "metadata.json").write_text(json.dumps(meta, indent=1) + "\n")
    bad = [p for p in parts["parts"] if not p["ok"]]
    print(f"wrote {out} ({len(index)} requests, {sum(r['bytes'] for r in index)} bytes); "
          f"{len(records)} responses served; parts: {[p['part'] for p in parts['parts']]}; failed parts: {bad}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("emitters", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep-venv", action="store_true", help="reuse the venv when its pins are unchanged")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--install-only", action="store_true", help="build the venvs (kept) and stop")
    args = ap.parse_args(argv)
    if args.list or not args.emitters:
        for k, v in EMITTERS.items():
            print(f"{k:28} {' '.join(v['pip'] + v.get('npm', []))}")
        return 0
    for name in args.emitters:
        if args.install_only:
            make_venv(name, EMITTERS[name], keep=True)
        else:
            capture(name, args.keep_venv, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
