"""Read and replay committed captures (used by tests/test_captures.py; `python replay.py DIR` prints the spans).

>>> caps = list_captures()
>>> all((c / "expected.json").exists() for c in caps)
True
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent


def list_captures() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if (p / "metadata.json").exists())


def load(capture: Path) -> tuple[dict, dict]:
    return (json.loads((capture / "metadata.json").read_text()), json.loads((capture / "expected.json").read_text()))


def send(capture: Path, base_url: str, signals=("traces", "logs")) -> list[tuple[str, int]]:
    """POST every recorded request of the given signals to base_url, as it was sent; returns (file, status)."""
    meta, _ = load(capture)
    out = []
    for r in meta["requests"]:
        if r["signal"] not in signals:
            continue
        headers = {"content-type": r["content_type"]}
        if r["content_encoding"]:
            headers["content-encoding"] = r["content_encoding"]
        body = (capture / "requests" / r["file"]).read_bytes()
        resp = requests.post(f"{base_url}/v1/{r['signal']}", data=body, headers=headers, timeout=10)
        out.append((r["file"], resp.status_code))
    return out


def spans(capture: Path):
    """(resource attrs, scope name, span dict) for every span of the capture, decoded."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    meta, _ = load(capture)
    for r in meta["requests"]:
        if r["signal"] != "traces":
            continue
        body = (capture / "requests" / r["file"]).read_bytes()
        if r["content_encoding"] == "gzip":
            body = gzip.decompress(body)
        if r["content_type"] == "application/json":
            doc = json.loads(body)
        else:
            doc = MessageToDict(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
        for rs in doc.get("resourceSpans", []):
            res = {a["key"]: _v(a["value"]) for a in rs.get("resource", {}).get("attributes", [])}
            for ss in rs.get("scopeSpans", []):
                for sp in ss.get("spans", []):
                    sp = dict(sp)
                    sp["attributes"] = {a["key"]: _v(a.get("value", {})) for a in sp.get("attributes", [])}
                    yield res, ss.get("scope", {}).get("name", ""), sp


def _v(v: dict):
    if "arrayValue" in v:
        return [_v(x) for x in v["arrayValue"].get("values", [])]
    for k in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if k in v:
            return v[k]
    return v


def main(argv) -> None:
    for cap in argv or list_captures():
        cap = Path(cap)
        for _res, scope, sp in spans(cap):
            keep = {k: v for k, v in sp["attributes"].items() if not k.startswith(("gen_ai.input", "gen_ai.output",
                    "llm.input_messages", "llm.output_messages", "input.", "output.", "gen_ai.prompt.",
                    "gen_ai.completion.", "traceloop.entity.input", "traceloop.entity.output"))}
            print(f"{sp.get('traceId', '')[:8]} {sp.get('spanId', '')[:6]}<{sp.get('parentSpanId', '')[:6]} "
                  f"[{scope}] {sp['name']} status={sp.get('status', {}).get('code', '')}")
            for k, v in sorted(keep.items()):
                print(f"      {k} = {str(v)[:120]}")


if __name__ == "__main__":
    main(sys.argv[1:])
