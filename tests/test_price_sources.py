"""LiteLLM's community price table: the import, `pricing.sources`, the order of tables, URL refresh."""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from llmpulse.cli import main
from llmpulse.config import load_config
from llmpulse.litellm_prices import FIELDS, TIER_SUFFIXES, convert, fetch_url, parse_bytes, read_source
from llmpulse.price_sources import PriceSources
from llmpulse.pricing import PriceChain, PriceTable

SNAPSHOT = Path(__file__).parent / "data" / "litellm" / "model_prices_and_context_window-1.110.2.json.gz"
PER_TOKEN = 1_000_000.0


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(gzip.decompress(SNAPSHOT.read_bytes()))


@pytest.fixture(scope="module")
def imported(raw):
    doc, cov = convert(raw, source=SNAPSHOT.name, version="litellm 1.110.2")
    return PriceTable.from_doc(doc, SNAPSHOT.name), doc, cov


def token_priced(raw: dict) -> dict:
    """The models LiteLLM prices per token or per request (llmpulse prices those); a model priced only
    by ``tiered_pricing`` ranges gets its first range's prices as the base."""
    out = {}
    for k, v in raw.items():
        if k == "sample_spec" or not isinstance(v, dict):
            continue
        if ("input_cost_per_token" not in v and "output_cost_per_token" not in v and v.get("tiered_pricing")
                and "range" in v["tiered_pricing"][0]):         # ranges of prompt tokens (not of search results)
            v = {**v, **{f: x for f, x in v["tiered_pricing"][0].items() if f != "range"}}
        if any(isinstance(v.get(f), (int, float)) for f in
               ("input_cost_per_token", "output_cost_per_token", "input_cost_per_request", "input_cost_per_query")):
            out[k] = v
    return out


def test_every_model_the_snapshot_prices_is_priced_identically(raw, imported):
    table, _doc, cov = imported
    priced = token_priced(raw)
    assert len(priced) > 3900
    lower = Counter(k.lower() for k in priced)
    dups = {k for k in priced if lower[k.lower()] > 1}
    wrong = []
    for name, spec in priced.items():
        price = table.match("unknown", name)
        if price is None or (price.name != name and name not in dups):
            wrong.append((name, "not found" if price is None else price.name))
            continue
        p = price.price
        for key, field in (("input_cost_per_token", "input"), ("output_cost_per_token", "output"),
                           ("cache_read_input_token_cost", "cache_read"),
                           ("cache_creation_input_token_cost", "cache_write")):
            if isinstance(spec.get(key), (int, float)) and getattr(p, field) != spec[key] * PER_TOKEN:
                wrong.append((name, field, getattr(p, field), spec[key]))
        # and a call costs what LiteLLM's per-token prices say, to a millionth of a cent
        expected = 10_000 * spec.get("input_cost_per_token", 0) + 2_000 * spec.get("output_cost_per_token", 0)
        expected += spec.get("input_cost_per_request", spec.get("input_cost_per_query", 0))
        if spec.get("litellm_provider") == "perplexity" and isinstance(spec.get("search_context_cost_per_query"), dict):
            expected += spec["search_context_cost_per_query"].get("search_context_size_medium", 0)
        if abs(p.cost(10_000, 2_000) - expected) > 1e-8:
            wrong.append((name, "cost", p.cost(10_000, 2_000), expected))
    assert not wrong, wrong[:10]
    assert cov.imported + sum(n for reason, n in cov.skipped.items() if "case" in reason) == len(priced)
    assert cov.total == len(raw) - 1


def test_dimensions_are_mapped_where_the_file_has_them(raw, imported):
    table, _doc, cov = imported
    checked = {"tier": 0, "band": 0, "dimension": 0}
    pattern = re.compile(r"^(?P<field>[a-z_]+?)(?:_above_(?P<k>\d+)k_tokens)?(?:_(?P<tier>batches|flex|priority))?$")
    for name, spec in token_priced(raw).items():
        price = table.match("unknown", name).price
        for key, value in spec.items():
            m = pattern.match(key)
            if not m or m["field"] not in FIELDS or not isinstance(value, (int, float)):
                continue
            if re.search(r"per_image$|per_second|per_character|per_pixel", key):
                continue
            p = price.tier(TIER_SUFFIXES[m["tier"]]) if m["tier"] else price
            assert p is not None, (name, key)
            if m["k"]:
                threshold, p = p.band(int(m["k"]) * 1000 + 1)
                assert threshold == int(m["k"]) * 1000, (name, key)
            got = getattr(p, FIELDS[m["field"]])
            assert got == pytest.approx(value * PER_TOKEN, rel=1e-12), (name, key, got, value)
            checked["tier" if m["tier"] else "band" if m["k"] else "dimension"] += 1
        sc = spec.get("search_context_cost_per_query")
        if isinstance(sc, dict) and spec.get("litellm_provider") != "perplexity" and "search_context_size_medium" in sc:
            assert price.web_search == sc["search_context_size_medium"], name
    assert checked["tier"] > 3000 and checked["band"] > 500 and checked["dimension"] > 4000, checked
    # the example keys named in issue 17
    sonnet = table.lookup("anthropic", "claude-sonnet-4-5")
    assert sonnet.cache_write_1h == pytest.approx(6.0) and sonnet.tier("batch").input == pytest.approx(1.5)
    realtime = table.lookup("openai", "gpt-realtime")
    assert (realtime.audio_input, realtime.audio_output) == (pytest.approx(32.0), pytest.approx(64.0))
    assert table.lookup("openai", "gpt-4o").tier("priority").output == pytest.approx(17.0)
    assert cov.dimensions["cache_write_1h"] > 200 and cov.dimensions["tiers"] > 700


def test_a_model_known_only_to_litellm_is_priced_and_the_builtin_wins_where_both_price(tmp_path, raw):
    path = tmp_path / "litellm.json.gz"
    path.write_bytes(SNAPSHOT.read_bytes())
    only = "perplexity/sonar-pro"
    assert PriceTable.load().lookup("perplexity", only) is None
    cfg = load_config(environ={}, overrides={"pricing": {"sources": [{"path": str(path)}]}})
    prices = PriceSources(cfg.pricing).build()
    assert isinstance(prices, PriceChain)
    assert prices.lookup("perplexity", only).input == pytest.approx(3.0)
    # deepseek-chat: the built-in table and LiteLLM disagree; the built-in one wins by default...
    builtin = PriceTable.load().lookup("deepseek", "deepseek-chat")
    theirs = raw["deepseek-chat"]["input_cost_per_token"] * PER_TOKEN
    assert builtin.input != pytest.approx(theirs)
    assert prices.lookup("deepseek", "deepseek-chat").input == builtin.input
    # ...a built-in alias is not taken over by LiteLLM's entry of the same name...
    assert prices.match("openai", "gpt-4o-2024-08-06").source.startswith("https://openai.com")
    # ...and `prefer: sources` puts LiteLLM first, your own files still before it
    mine = tmp_path / "mine.yaml"
    mine.write_text("models:\n  - {name: deepseek-chat, provider: any, input: 0.01, output: 0.02}\n")
    cfg = load_config(environ={}, overrides={"pricing": {"sources": [{"path": str(path)}], "prefer": "sources"}})
    assert PriceSources(cfg.pricing).build().lookup("deepseek", "deepseek-chat").input == pytest.approx(theirs)
    cfg = load_config(environ={}, overrides={"pricing": {"sources": [{"path": str(path)}], "prefer": "sources",
                                                          "files": [str(mine)]}})
    assert PriceSources(cfg.pricing).build().lookup("deepseek", "deepseek-chat").input == pytest.approx(0.01)


def test_a_source_that_cannot_be_read_is_left_out_and_counted(tmp_path, caplog):
    from prometheus_client import CollectorRegistry

    from llmpulse.costing import PriceMetrics

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    reg = CollectorRegistry()
    cfg = load_config(environ={}, overrides={"pricing": {"sources": [{"path": str(bad), "name": "community"}]}})
    prices = PriceSources(cfg.pricing, PriceMetrics(reg)).build()
    assert isinstance(prices, PriceTable)                     # the built-in table alone
    assert reg.get_sample_value("llmpulse_price_source_refreshes_total",
                                {"source": "community", "outcome": "failed"}) == 1
    assert "community" in caplog.text



def test_a_source_with_an_invalid_entry_is_logged_with_its_first_problem(tmp_path, caplog):
    bad = tmp_path / "team.yaml"
    bad.write_text("models: [{name: m, input: -1, output: 1}]\n")
    cfg = load_config(environ={}, overrides={"pricing": {"sources": [
        {"path": str(bad), "name": "team", "format": "llmpulse"}]}})
    assert isinstance(PriceSources(cfg.pricing).build(), PriceTable)
    # the log names the problem (not a header such as "invalid price table:")
    assert f"price source team ({bad}) could not be read: team: models[0].input: must be a number >= 0, got -1" in caplog.text

@pytest.mark.slow
def test_the_import_command_writes_a_table_with_provenance(tmp_path, raw, imported, capsys):
    out = tmp_path / "litellm-prices.yaml"
    assert main(["prices", "import", "litellm", str(SNAPSHOT), "-o", str(out), "--checked", "2026-12-01"]) == 0
    assert "models imported" in capsys.readouterr().err
    doc = yaml.safe_load(out.read_text())
    assert (doc["source"], doc["checked"], doc["unit"]) == (SNAPSHOT.name, "2026-12-01", "per_token")
    assert doc["version"].startswith("sha256:")
    table = PriceTable.load([out], builtin=False)
    assert len(table) == len(imported[0])
    for name in ("gpt-4o", "gemini/gemini-2.5-pro", "perplexity/sonar", "claude-opus-4-6"):
        assert table.lookup("x", name) == imported[0].lookup("x", name)
    assert main(["prices", "import", "litellm", str(tmp_path / "missing.json")]) == 2


def test_the_import_command_refuses_json_that_is_not_a_table_of_models(tmp_path, capsys):
    # a JSON array (or a number, a string) is valid JSON but no price table: a usage error, no traceback
    for body in ("[]", "42", '"prices"'):
        src = tmp_path / "prices.json"
        src.write_text(body)
        assert main(["prices", "import", "litellm", str(src)]) == 2
        err = capsys.readouterr().err
        assert f"cannot read {src}: not a LiteLLM price table: the top level must be an object of models" in err


def test_the_import_reads_the_litellm_wheel(tmp_path, raw):
    import zipfile

    whl = tmp_path / "litellm-1.110.2-cp310-abi3-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("litellm/model_prices_and_context_window_backup.json", gzip.decompress(SNAPSHOT.read_bytes()))
    doc, version = read_source(str(whl))
    assert version == "litellm 1.110.2" and doc == raw


class _Served:
    """A local HTTP server whose answer the test sets: (status, body)."""

    def __init__(self):
        self.answer = (200, b"{}")
        self.drip = 0.0           # seconds between the body's bytes (0: all at once)
        self.headers: dict[str, str] = {}
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):       # noqa: N802
                status, body = served.answer
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for k, v in served.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if not served.drip:
                    self.wfile.write(body)
                    return
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(served.drip)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/prices.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _zeros_gzipped(n: int) -> bytes:
    """n zero bytes, gzipped, without holding n bytes."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(bytes(1 << 20)) for _ in range(n >> 20)]
    return b"".join(parts) + z.flush()


def test_a_url_source_is_bounded_in_size_time_and_inflation():
    """A price URL answering too much, too slowly, or a gzip bomb (body or Content-Encoding)
    is an error for that source, found without holding what it would inflate to."""
    srv = _Served()
    try:
        srv.answer = (200, b"x" * 5000)
        with pytest.raises(ValueError, match="over 1000 bytes"):
            fetch_url(srv.url, 5, limit=1000)
        bomb = _zeros_gzipped(200 << 20)              # 200 MB of zeros in about 200 KB
        srv.answer = (200, bomb)
        with pytest.raises(ValueError, match="more than"):
            parse_bytes(fetch_url(srv.url, 10))
        srv.headers = {"Content-Encoding": "gzip"}    # the same bomb, inflated by the HTTP client
        with pytest.raises(ValueError, match="over"):
            fetch_url(srv.url, 10)
        srv.headers, srv.drip = {}, 0.05               # 0.05 s a byte: each read in time, the whole not
        srv.answer = (200, _litellm(1e-6))
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="longer than 1 s"):
            fetch_url(srv.url, 1.0)
        assert time.monotonic() - t0 < 2.0
    finally:
        srv.drip = 0.0
        srv.close()


def _litellm(price: float) -> bytes:
    return json.dumps({"acme-model": {"litellm_provider": "acme", "mode": "chat",
                                      "input_cost_per_token": price, "output_cost_per_token": price}}).encode()


def test_a_url_source_refreshes_and_keeps_its_last_good_copy(tmp_path):
    from prometheus_client import CollectorRegistry

    from llmpulse.costing import PriceMetrics

    served = _Served()
    now = [1000.0]
    changes = []
    reg = CollectorRegistry()
    cache = tmp_path / "cache" / "litellm.json"
    try:
        served.answer = (200, _litellm(1e-6))
        cfg = load_config(environ={}, overrides={"pricing": {"sources": [
            {"url": served.url, "refresh_seconds": 3600, "cache_file": str(cache), "name": "community"}]}})
        sources = PriceSources(cfg.pricing, PriceMetrics(reg), on_change=changes.append, clock=lambda: now[0])
        assert sources.build().lookup("acme", "acme-model").input == pytest.approx(1.0)
        assert cache.read_bytes() == _litellm(1e-6)
        served.answer = (200, _litellm(2e-6))
        assert not sources.refresh_due()                           # not due yet
        now[0] += 3600
        assert sources.refresh_due()
        assert changes[-1].lookup("acme", "acme-model").input == pytest.approx(2.0)
        served.answer = (500, b"down")
        now[0] += 3600
        assert not sources.refresh_due()                           # failed: the last good copy stays
        assert sources.current().lookup("acme", "acme-model").input == pytest.approx(2.0)
        served.answer = (200, b"<html>not json</html>")
        now[0] += 3600
        assert not sources.refresh_due()
        assert sources.current().lookup("acme", "acme-model").input == pytest.approx(2.0)
        assert reg.get_sample_value("llmpulse_price_source_refreshes_total",
                                    {"source": "community", "outcome": "failed"}) == 2
        assert reg.get_sample_value("llmpulse_price_source_refreshes_total",
                                    {"source": "community", "outcome": "ok"}) == 2
        assert reg.get_sample_value("llmpulse_price_source_models", {"source": "community"}) == 1
        # a restart while the URL is down starts from the last good copy on disk
        restarted = PriceSources(cfg.pricing).build()
        assert restarted.lookup("acme", "acme-model").input == pytest.approx(2.0)
    finally:
        served.close()


def test_the_exporter_prices_with_a_source_and_swaps_on_refresh(tmp_path):
    from prometheus_client import CollectorRegistry

    from llmpulse.app import Exporter

    served = _Served()
    try:
        served.answer = (200, _litellm(1e-6))
        cfg = load_config(environ={}, overrides={"pricing": {"sources": [{"url": served.url, "refresh_seconds": 60}]}})
        reg = CollectorRegistry()
        exp = Exporter(cfg, registry=reg)
        first = exp.pipeline.prices.version
        assert reg.get_sample_value("llmpulse_price_table_info", {"version": first}) == 1
        served.answer = (200, _litellm(3e-6))
        exp.price_sources.next_due[0] = 0
        assert exp.price_sources.refresh_due()
        assert exp.pipeline.prices.lookup("acme", "acme-model").input == pytest.approx(3.0)
        assert reg.get_sample_value("llmpulse_price_table_info", {"version": first}) is None
        assert reg.get_sample_value("llmpulse_price_table_info", {"version": exp.pipeline.prices.version}) == 1
    finally:
        served.close()


@pytest.mark.parametrize("source, message", [
    ({"path": "a", "url": "http://b"}, "give exactly one of path or url"),
    ({"url": "http://b", "refresh_seconds": 5}, "refresh_seconds: must be 0 (never) or >= 60"),
    ({"path": "a", "refresh_seconds": 600}, "refresh_seconds and cache_file are for url sources"),
    ({"path": "a", "format": "openlit"}, "format: must be litellm or llmpulse"),
])
def test_source_config_errors(source, message):
    from llmpulse.config import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(environ={}, overrides={"pricing": {"sources": [source]}})


def test_the_configuration_example_in_the_docs_is_valid():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "pricing.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if b.lstrip().startswith("pricing:")]
    assert blocks
    for block in blocks:
        cfg = load_config(environ={}, overrides=yaml.safe_load(block))
        assert cfg.pricing.sources and cfg.pricing.sources[-1].refresh_seconds == 86400


def test_the_refresh_thread_starts_and_stops_with_the_exporter():
    from llmpulse.app import Exporter

    served = _Served()
    try:
        served.answer = (200, _litellm(1e-6))
        cfg = load_config(environ={}, overrides={
            "server": {"host": "127.0.0.1", "otlp_http_port": 0, "otlp_grpc_port": 0, "metrics_port": 0},
            "pricing": {"sources": [{"url": served.url, "refresh_seconds": 60}]}})
        exp = Exporter(cfg).start()
        try:
            assert exp.price_sources._thread is not None and exp.price_sources._thread.is_alive()
            body = requests_get(exp.metrics_url)
            assert 'llmpulse_price_source_models{source="source0"} 1.0' in body
        finally:
            exp.stop()
        assert not exp.price_sources._thread.is_alive()
    finally:
        served.close()


def requests_get(url: str) -> str:
    import requests

    return requests.get(url, timeout=10).text


def test_the_snapshot_is_the_file_its_readme_names():
    import hashlib

    readme = (SNAPSHOT.parent / "README.md").read_text()
    digest = hashlib.sha256(gzip.decompress(SNAPSHOT.read_bytes())).hexdigest()
    assert f"| model_prices_and_context_window_backup.json (uncompressed) | {digest} |" in readme


def test_prices_check_says_what_each_file_holds_and_what_the_table_becomes(tmp_path, capsys):
    # it printed only the combined table's count and version, as if that were the file's
    f = tmp_path / "mine.yaml"
    f.write_text("checked: 2026-12-01\nmodels:\n  - {name: my-model, provider: acme, input: 1, output: 2}\n")
    assert main(["prices", "check", str(f)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first == f"{f}: 1 model"
    assert re.fullmatch(r"with the built-in table: \d+ models, version \S+, checked \S+", second)
