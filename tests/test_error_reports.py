"""Every typed file's problems reach the user the same way, from every command that reads one.

`llmpulse: invalid <what>:`, then one indented `<file>: <key path>: <what was wrong> (...)` per problem
(llmpulse.typed's format). The reports the docs show are the ones these commands print.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpulse.cli import main

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
server:
  metrics_prot: 1
  otlp_http_port: x
metrics:
  label_caps: {service_name: 0}
"""
CONFIG_REPORT = """\
llmpulse: invalid configuration:
  bad.yaml: server.metrics_prot: unknown key (did you mean metrics_port? known: body_timeout_seconds, grpc_enabled, \
grpc_keepalive_seconds, grpc_max_connections, grpc_max_idle_seconds, grpc_max_streams_per_connection, header_timeout_seconds, host, \
... (20 in all))
  bad.yaml: server.otlp_http_port: must be an integer, got 'x'
  bad.yaml: metrics.label_caps.service_name: must be >= 1, got 0
"""

THRESHOLDS = """\
LLMErrorRatioHighCriticalTreshold: 0.1
LLMTruncationHighWindow: fifteen minutes
slo:
  windows:
    - {severity: critical, long: 1h, short: 5m, budgetPercent: 2}
"""
THRESHOLDS_REPORT = """\
llmpulse: invalid thresholds:
  my-thresholds.yaml: LLMErrorRatioHighCriticalTreshold: unknown key (did you mean LLMErrorRatioHighCriticalThreshold? \
known: CallSelector, GrafanaURL, LLMConversationCostOutlierBaselineWindow, LLMConversationCostOutlierFactor, \
LLMConversationCostOutlierFor, LLMConversationCostOutlierMinHistory, LLMConversationCostOutlierQuantile, \
LLMConversationCostOutlierWindow, ... (104 in all))
  my-thresholds.yaml: LLMTruncationHighWindow: must be a duration like 30s, 5m, 1h, 7d, 1w, got 'fifteen minutes'
  my-thresholds.yaml: slo.windows[0].for: missing (required)
"""

PRICES = """\
models:
  - {name: a, input: -2, output: 1}
  - {name: b, input: 1, outptu: 2}
  - {name: c, input: 1, output: 1, patterns: ["c-(4"]}
"""
PRICES_REPORT = """\
llmpulse: invalid price table:
  my-prices.yaml: models[0].input: must be a number >= 0, got -2
  my-prices.yaml: models[1].outptu: unknown key (did you mean output? known: above, aliases, audio_cache_read, \
audio_input, audio_output, cache_read, cache_write, cache_write_1h, ... (22 in all))
  my-prices.yaml: models[1].output: missing (required)
  my-prices.yaml: models[2].patterns[0]: not a valid regular expression: missing ), unterminated subpattern at position 2
"""


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)         # the reports name the files as given: bad.yaml, not /tmp/.../bad.yaml
    (tmp_path / "bad.yaml").write_text(CONFIG)
    (tmp_path / "my-thresholds.yaml").write_text(THRESHOLDS)
    (tmp_path / "my-prices.yaml").write_text(PRICES)
    (tmp_path / "priced.yaml").write_text("pricing: {files: [my-prices.yaml]}\n"
                                          "server: {metrics_port: 0, otlp_http_port: 0, otlp_grpc_port: 0}\n")
    (tmp_path / "both.yaml").write_text(CONFIG + "pricing: {files: [my-prices.yaml]}\n")
    return tmp_path


@pytest.mark.parametrize(("argv", "code", "report"), [
    (["serve", "--config", "bad.yaml"], 2, CONFIG_REPORT),
    (["demo", "--config", "bad.yaml"], 2, CONFIG_REPORT),
    (["serve", "--config", "priced.yaml"], 2, PRICES_REPORT),
    (["demo", "--config", "priced.yaml"], 2, PRICES_REPORT),
    # a config with errors that names a bad price file: both in one run (the price file was read only once
    # the config was fixed)
    (["serve", "--config", "both.yaml"], 2, CONFIG_REPORT.replace("bad.yaml", "both.yaml")
     + PRICES_REPORT.removeprefix("llmpulse: ")),
    (["demo", "--config", "both.yaml"], 2, CONFIG_REPORT.replace("bad.yaml", "both.yaml")
     + PRICES_REPORT.removeprefix("llmpulse: ")),
    (["prices", "check", "my-prices.yaml"], 1, PRICES_REPORT),
    (["alerts", "check", "--thresholds", "my-thresholds.yaml"], 1, THRESHOLDS_REPORT),
    (["alerts", "build", "--thresholds", "my-thresholds.yaml", "--out", "rules"], 2, THRESHOLDS_REPORT),
    (["dashboards", "build", "--thresholds", "my-thresholds.yaml", "--out", "dash"], 2, THRESHOLDS_REPORT),
], ids=lambda v: " ".join(v[:2]) + (f" {v[-1]}" if v[-1].endswith(".yaml") else "") if isinstance(v, list) else None)
def test_every_command_reports_a_typed_file_the_same_way(files, capsys, argv, code, report):
    assert main(argv) == code
    assert capsys.readouterr().err == report


def _shown(doc: str, report: str) -> bool:
    """The report's lines, in order and together, in the doc (indentation aside)."""
    lines = [line.strip() for line in doc.splitlines()]
    want = [line.strip() for line in report.splitlines()]
    return any(lines[i:i + len(want)] == want for i in range(len(lines)))


@pytest.mark.parametrize(("doc", "report"), [
    ("docs/configuration.md", CONFIG_REPORT),
    ("docs/alerts.md", THRESHOLDS_REPORT),
    ("docs/pricing.md", PRICES_REPORT),
])
def test_the_docs_show_the_reports_as_printed(doc, report):
    assert _shown((ROOT / doc).read_text(encoding="utf-8"), report), f"{doc} does not show:\n{report}"
