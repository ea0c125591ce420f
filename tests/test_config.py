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
        "grpc_enabled, grpc_keepalive_seconds, grpc_max_connections, grpc_max_idle_seconds, grpc_max_streams_per_connection, "
        "header_timeout_seconds, host, ... (20 in all))",
        f"{f}: server.otlp_http_port: must be an integer, got 'x'",
        f"{f}: metrics.dimensions[0].name: 'user_id' is an identifier, never a label",
        f"{f}: metrics.label_caps.service_name: must be >= 1, got 0",
        f"{f}: bogus: unknown key (did you mean bounds? known: auth, bounds, forward, metrics, pricing, server, signals, tokens, ... (9 in all))",
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
    for command in ("serve", "demo"):      # a bad flag is the command line's, with or without a file
        assert main([command, "--config", str(f), "--metrics-port", "70000"]) == 2
        err = capsys.readouterr().err
        assert "command line: server.metrics_port: must be a port number 0..65535, got 70000" in err
        assert f"{f}: server.metrics_port" not in err


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


# --- relative paths: the config file's folder, as Prometheus does ---------------------------------

PRICES = """\
checked: 2026-11-23
currency: USD
models:
  - {name: sibling-model, provider: any, input: 7, output: 9}
"""


def _config_with_siblings(tmp_path):
    """conf/llmpulse.yaml naming its sibling files by relative paths; the cwd is elsewhere."""
    conf = tmp_path / "conf"
    (conf / "sub").mkdir(parents=True)
    (conf / "prices.yaml").write_text(PRICES)
    (conf / "sub" / "more-prices.yaml").write_text(PRICES.replace("sibling-model", "nested-model"))
    (conf / "token").write_text("s3cret\n")
    (conf / "litellm.json").write_text("{}")
    (conf / "llmpulse.yaml").write_text(
        "auth: {token_file: token}\n"
        "pricing:\n"
        "  files: [prices.yaml, ./sub/more-prices.yaml, ABSOLUTE]\n"
        "  sources:\n"
        "    - {path: litellm.json, name: local}\n"
        "    - {url: 'http://127.0.0.1:9/prices.json', cache_file: cache/litellm.json, name: remote}\n"
        .replace("ABSOLUTE", str(tmp_path / "abs-prices.yaml")))
    (tmp_path / "abs-prices.yaml").write_text(PRICES.replace("sibling-model", "absolute-model"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return conf, elsewhere


def test_relative_paths_in_the_file_are_relative_to_its_folder(tmp_path, monkeypatch):
    conf, elsewhere = _config_with_siblings(tmp_path)
    monkeypatch.chdir(elsewhere)
    cfg = load_config(conf / "llmpulse.yaml", environ={})
    assert cfg.auth.token_file == str(conf / "token")
    assert cfg.auth.resolved_token() == "s3cret"
    assert cfg.pricing.files == [str(conf / "prices.yaml"), str(conf / "sub" / "more-prices.yaml"),
                                 str(tmp_path / "abs-prices.yaml")]
    assert cfg.pricing.sources[0].path == str(conf / "litellm.json")
    assert cfg.pricing.sources[1].cache_file == str(conf / "cache" / "litellm.json")
    from llmpulse.pricing import PriceTable
    table = PriceTable.load(cfg.pricing.files)
    for model in ("sibling-model", "nested-model", "absolute-model"):
        assert table.lookup("openai", model) is not None, model


def test_a_relative_config_path_gives_paths_as_prometheus_joins_them(tmp_path, monkeypatch):
    _config_with_siblings(tmp_path)
    monkeypatch.chdir(tmp_path)
    cfg = load_config("conf/llmpulse.yaml", environ={})
    assert cfg.auth.token_file == "conf/token"               # filepath.Join(filepath.Dir(config), path)
    assert cfg.pricing.files[:2] == ["conf/prices.yaml", "conf/sub/more-prices.yaml"]
    assert cfg.auth.resolved_token() == "s3cret"
    monkeypatch.chdir(tmp_path / "conf")
    assert load_config("llmpulse.yaml", environ={}).pricing.files[0] == "prices.yaml"   # reports name it as written


def test_a_file_named_like_a_number_is_relative_too(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "0123").write_text("tok")
    (tmp_path / "conf" / "llmpulse.yaml").write_text("auth: {token_file: 0123}\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(tmp_path / "conf" / "llmpulse.yaml", environ={}).auth.resolved_token() == "tok"


def test_environment_and_flag_paths_stay_relative_to_the_cwd(tmp_path, monkeypatch):
    conf, elsewhere = _config_with_siblings(tmp_path)
    monkeypatch.chdir(elsewhere)
    (elsewhere / "env-token").write_text("from-env")
    cfg = load_config(conf / "llmpulse.yaml",
                      environ={"LLMPULSE_AUTH_TOKEN_FILE": "env-token", "LLMPULSE_PRICE_FILES": "a.yaml,b/c.yaml"},
                      overrides={"pricing": {"sources": [{"path": "flag.json"}]}})
    assert cfg.auth.token_file == "env-token"
    assert cfg.auth.resolved_token() == "from-env"
    assert cfg.pricing.files == ["a.yaml", "b/c.yaml"]
    assert cfg.pricing.sources[0].path == "flag.json"


def test_a_missing_relative_token_file_is_reported_where_it_was_looked_for(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "llmpulse.yaml").write_text("auth: {token_file: secrets/token}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "conf" / "llmpulse.yaml", environ={})
    assert f"token_file: cannot read {tmp_path / 'conf' / 'secrets' / 'token'}" in str(err.value)


def test_every_key_naming_a_file_is_a_file_path():
    """A new key that names a file must be typed FilePath, or it would silently read the cwd."""
    import dataclasses
    import typing

    from llmpulse.config import Config
    from llmpulse.typed import FILE

    def bare(tp):
        return typing.get_args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp

    def walk(tp, path):
        for f in dataclasses.fields(tp):
            hint = typing.get_type_hints(tp, include_extras=True)[f.name]
            inner = typing.get_args(hint)[0] if typing.get_origin(hint) in (list, dict) and typing.get_args(hint) else hint
            if typing.get_origin(hint) is dict:
                inner = typing.get_args(hint)[1]
            if dataclasses.is_dataclass(inner):
                yield from walk(inner, f"{path}{f.name}.")
            elif any(w in f.name for w in ("file", "path", "dir")) and bare(inner) is str:
                yield f"{path}{f.name}", typing.get_origin(inner) is typing.Annotated and FILE in typing.get_args(inner)

    found = dict(walk(Config, ""))
    assert set(found) >= {"auth.token_file", "pricing.files", "pricing.sources.path", "pricing.sources.cache_file"}
    assert [k for k, typed in found.items() if not typed] == []


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


def test_a_bad_flag_or_variable_value_is_blamed_on_the_flag_or_variable_not_the_file(tmp_path):
    # `serve --config f.yaml --metrics-port 70000` reported "f.yaml: server.metrics_port: ...", sending the
    # user to a file that does not set it (and "config: ..." without a file)
    f = tmp_path / "f.yaml"
    f.write_text("server: {otlp_http_port: 70001}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(f, overrides={"server": {"metrics_port": 70000}}, environ={"LLMPULSE_OTLP_GRPC_PORT": "70002"},
                    overrides_source="command line")
    assert sorted(exc.value.problems) == sorted([
        f"{f}: server.otlp_http_port: must be a port number 0..65535, got 70001",
        "command line: server.metrics_port: must be a port number 0..65535, got 70000",
        "$LLMPULSE_OTLP_GRPC_PORT: server.otlp_grpc_port: must be a port number 0..65535, got 70002",
    ])
