"""`llmpulse bench --quick --json` runs end to end and writes every key (no timing is asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from llmpulse.bench.run import KEYS, TARGETS

REQUIRED = KEYS + ("date", "machine", "versions")


@pytest.mark.slow       # the whole quick benchmark in a subprocess
def test_quick_bench_writes_all_keys(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "llmpulse", "bench", "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    missing = [k for k in REQUIRED if k not in res]
    assert not missing, missing
    for k in KEYS:
        assert isinstance(res[k], (int, float)) and math.isfinite(res[k]), (k, res[k])
    for k in ("ingest_spans_per_s", "floor_spans_per_s", "ingest_vs_floor", "cpu_per_call_vs_otel_sdk",
              "scrape_vs_generate_latest", "throughput_10k_vs_10", "bytes_per_label_set", "p99_ingest_ms_512"):
        assert res[k] > 0, k
    assert set(res["targets"]) == set(TARGETS)
    assert {"protobuf_1", "protobuf_64", "protobuf_512", "json_1", "json_64", "json_512"} <= set(res["ingest"])
    assert res["versions"]["prometheus-client"] and res["versions"]["opentelemetry-sdk"]
    assert res["latency"]["scrapes"] >= 1 and res["latency"]["requests"] > 1
    assert res["attack"]["distinct_models"] > 0
    assert set(res["small_requests"]) == {"protobuf_1", "protobuf_10"}
    assert res["small_requests_vs_bare"] == min(p["vs_bare"] for p in res["small_requests"].values()) > 0
    for p in res["small_requests"].values():
        assert p["decode_only_vs_bare"] > 0 and p["http_layer_vs_bare"] > 0, p
    # both growth pipelines measured full: as many spans sent first as the steady state asks for
    assert res["growth"]["spans_sent_first"][0] >= res["steady_state"]["spans_sent_first"]
    assert "ingest_vs_floor" in proc.stdout and "| figure" in proc.stdout


@pytest.mark.slow       # one server process
def test_the_decode_only_server_decodes_what_it_is_sent():
    """`uvicorn-decode`, the bench's decode floor for small requests, answers 200 only to a body it decoded:
    a malformed one gets 400 (a server skipping the decode would answer 200)."""
    from llmpulse.bench.http_servers import Candidate, RawClient, request_bytes
    from llmpulse.bench.payloads import SpanPool

    good = SpanPool(seed=7, calls=20).bodies(10, 1, "protobuf")[0]
    server = Candidate("uvicorn-decode")
    try:
        c = RawClient(server.port)
        try:
            assert c.exchange(request_bytes(good)) == 200
            assert c.exchange(request_bytes(b"\x0a\xff\xff")) == 400      # a length past the end
        finally:
            c.close()
    finally:
        server.stop()
