"""Every Loki and TraceQL query llmpulse ships passes Loki 3.3.2's and Tempo 2.6.1's
selector rules (see selector_rules.py for the source files they come from), with every
Grafana variable at "All" and at values full of regex metacharacters."""

from __future__ import annotations

import pytest
import yaml

from dashboard_files import REPO, all_panels, committed
from selector_rules import ALL, SelectorError, go_unquote, grafana_interpolate, loki_stream_selector, traceql_check

# Service names as real apps spell them: dots, parentheses, plus, brackets, a pipe.
VALUE_SETS = {
    "all": {"service": ALL, "job": ALL, "provider": ALL, "model": ALL},
    "plain": {"service": "support-bot", "job": "llmpulse", "provider": "openai", "model": "gpt-4o"},
    "metacharacters": {"service": "chat.bot (v2)+[eu]", "job": "llm.pulse", "provider": "aws.bedrock",
                       "model": "anthropic.claude-3-5-haiku-20241022-v1:0"},
    "several": {"service": ["api.v1", "bot|x"], "job": ALL, "provider": ALL, "model": ["gpt-4o", "o3(mini)"]},
}


def shipped_queries() -> list[tuple[str, str, str]]:
    """(kind, where, query) for every Loki and Tempo query in dashboards and provisioning."""
    out = []
    for uid, data in sorted(committed().items()):
        for panel in all_panels(data["panels"]):
            for t in panel.get("targets", []):
                kind = (t.get("datasource") or {}).get("type")
                if kind == "loki":
                    out.append(("loki", f"{uid} / {panel['title']}", t["expr"]))
                elif kind == "tempo":
                    out.append(("tempo", f"{uid} / {panel['title']}", t["query"]))
    provisioning = REPO / "compose" / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
    for ds in yaml.safe_load(provisioning.read_text())["datasources"]:
        logs = ds.get("jsonData", {}).get("tracesToLogsV2")
        if logs and logs.get("customQuery"):
            # `$$` is a literal `$` in provisioning files; Grafana writes ${__tags} as key="value".
            query = logs["query"].replace("$$", "$")
            out.append(("loki-trace-link", f"datasource {ds['name']} tracesToLogsV2", query))
    return out


QUERIES = shipped_queries()


def test_there_are_queries_of_each_kind():
    assert {k for k, _, _ in QUERIES} == {"loki", "tempo", "loki-trace-link"}


def _expand_trace_link(query: str, values: dict) -> str:
    service = values["service"]
    name = service[0] if isinstance(service, list) else ("support-bot" if service is ALL else service)
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return query.replace("${__tags}", f'service_name="{escaped}"').replace("${__trace.traceId}", "0af7651916cd43dd8448eb211c80319c")


@pytest.mark.parametrize("values", sorted(VALUE_SETS), ids=str)
@pytest.mark.parametrize("kind,where,query", QUERIES, ids=[w for _, w, _ in QUERIES])
def test_query_passes_the_backend_selector_rules(kind, where, query, values):
    vals = VALUE_SETS[values]
    if kind == "loki-trace-link":
        loki_stream_selector(_expand_trace_link(query, vals))
        return
    expanded = grafana_interpolate(query, vals)
    assert "$" not in expanded, expanded
    if kind == "loki":
        matchers = loki_stream_selector(expanded)
        svc = next(m for m in matchers if m.name == "service_name" and m.op == "=~")
        chosen = vals["service"]
        if chosen is not ALL:
            for name in chosen if isinstance(chosen, list) else [chosen]:
                assert svc.matches(name), (expanded, name)
            assert not svc.matches("other-service")
    else:
        comparisons = traceql_check(expanded)
        chosen = vals["service"]
        if chosen is not ALL:
            import re
            (pattern,) = [v for a, op, v in comparisons if a == "resource.service.name" and op == "=~"]
            for name in chosen if isinstance(chosen, list) else [chosen]:
                assert re.fullmatch(pattern, name), (expanded, name)


# The rules themselves, on the queries of the issue: each must fail as Loki and Tempo do.

def test_loki_rejects_a_selector_that_matches_everything():
    with pytest.raises(SelectorError, match="at least one regexp or equality matcher"):
        loki_stream_selector('{service_name=~".*"}')
    with pytest.raises(SelectorError, match="at least one regexp or equality matcher"):
        loki_stream_selector('{service_name=~".*", level=""}')
    assert loki_stream_selector('{service_name=~".*", service_name=~".+"}')
    assert loki_stream_selector('{job="llmpulse"} | json')


def test_go_strings_refuse_unknown_escapes():
    with pytest.raises(SelectorError, match="unknown escape"):
        go_unquote('"chat\\.bot"')
    assert go_unquote("`chat\\.bot`") == "chat\\.bot"
    assert go_unquote('"a\\"b\\\\c\\x41\\u00e9"') == 'a"b\\cAé'
    with pytest.raises(SelectorError):
        go_unquote("'x'")  # strconv.Unquote: single quotes are a rune literal, not a string
    assert go_unquote("'x'", allow_single=True) == "x"  # strutil.Unquote (Loki) accepts them


def test_the_old_queries_fail():
    """The queries shipped before this fix, as the issue reports them."""
    old_loki = '{service_name=~"${service:regex}"}'
    with pytest.raises(SelectorError, match="empty-compatible"):
        loki_stream_selector(grafana_interpolate(old_loki, VALUE_SETS["all"]))
    with pytest.raises(SelectorError, match="unknown escape"):
        loki_stream_selector(grafana_interpolate(old_loki, VALUE_SETS["metacharacters"]))
    old_traceql = '{ span.gen_ai.operation.name = "invoke_agent" && resource.service.name =~ "${service:regex}" }'
    assert traceql_check(grafana_interpolate(old_traceql, VALUE_SETS["all"]))
    with pytest.raises(SelectorError, match="unknown escape"):
        traceql_check(grafana_interpolate(old_traceql, VALUE_SETS["metacharacters"]))


def test_grafana_interpolation_model():
    assert grafana_interpolate("${service:regex}", {"service": ALL}) == ".*"
    assert grafana_interpolate("${service:regex}", {"service": "a.b"}) == "a\\.b"
    assert grafana_interpolate("${service:regex}", {"service": ["a.b", "c"]}) == "(a\\.b|c)"
