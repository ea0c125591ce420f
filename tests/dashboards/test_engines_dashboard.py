"""The Serving engines dashboard and its link from the overview."""

from __future__ import annotations

from dashboard_files import committed, leaf_panels
from llmpulse.dashboards.engines import SELF_HOSTED_PROVIDERS

DASHBOARDS = committed()


def test_overview_links_self_hosted_models_to_the_engines_dashboard():
    panel = next(p for p in leaf_panels(DASHBOARDS["llmpulse-overview"]) if p["title"] == "Self-hosted engines in use")
    (expr,) = [t["expr"] for t in panel["targets"]]
    assert f'gen_ai_provider_name=~"{"|".join(SELF_HOSTED_PROVIDERS)}"' in expr
    assert "gen_ai_request_model" in expr
    (link,) = panel["fieldConfig"]["defaults"]["links"]
    assert link["url"].startswith("/d/llmpulse-engines?")
    assert "var-model=${__data.fields.gen_ai_request_model}" in link["url"]
    assert any(lnk["url"].startswith("/d/llmpulse-engines") for lnk in panel["links"])


def test_engines_dashboard_variables_and_rows():
    data = DASHBOARDS["llmpulse-engines"]
    names = [v["name"] for v in data["templating"]["list"]]
    assert names == ["datasource", "job", "instance", "model"]
    rows = [p["title"] for p in data["panels"] if p["type"] == "row"]
    assert rows == ["Every engine: capacity and time to first token", "vLLM", "SGLang"]
    titles = {p["title"] for p in leaf_panels(data)}
    assert {"KV-cache usage", "Requests running and waiting", "vLLM time to first token",
            "vLLM inter-token latency", "vLLM preemptions and finished requests",
            "vLLM prompt and generation throughput", "SGLang time to first token"} <= titles
