"""Tempo and Loki configs checked against the keys their documentation defines
(neither can run here), and the exporter's forwarding config of the stack."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import yaml

from llmpulse.config import load_config
from llmpulse.config import ForwardConfig
from llmpulse.typed import ConfigError, build

# https://grafana.com/docs/tempo/latest/configuration/ (Tempo 2.x, single binary).
# Only the blocks this stack uses are spelled out; their documented keys are listed.
TEMPO_KEYS = {
    "target": None, "http_api_prefix": None, "stream_over_http_enabled": None,
    "multitenancy_enabled": None, "memberlist": None, "query_frontend": None, "querier": None,
    "cache": None,
    # Tempo 2.6.1 source: modules/generator/config.go, storage/config.go, registry/config.go;
    # modules/overrides/config.go (the `defaults` format).
    "metrics_generator": {
        "ring": None, "processor": None, "metrics_ingestion_time_range_slack": None, "query_timeout": None,
        "registry": {"collection_interval": None, "stale_duration": None, "external_labels": None,
                     "inject_tenant_id_as": None, "max_label_name_length": None, "max_label_value_length": None},
        "storage": {"path": None, "wal": None, "remote_write_flush_deadline": None,
                    "remote_write_add_org_id_header": None,
                    "remote_write": [{"url": None, "send_exemplars": None, "headers": None, "name": None}]},
        "traces_storage": {"path": None},
    },
    "overrides": {"defaults": {"metrics_generator": {"processors": None}, "ingestion": None, "global": None}},
    "server": {"http_listen_address": None, "http_listen_port": None, "grpc_listen_port": None,
               "log_level": None, "log_format": None},
    "distributor": {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": None},
                                             "http": {"endpoint": None}}}},
        "log_received_spans": None,
    },
    "ingester": {"max_block_duration": None, "max_block_bytes": None, "trace_idle_period": None,
                 "complete_block_timeout": None, "lifecycler": None},
    "compactor": {"compaction": {"block_retention": None, "compacted_block_retention": None,
                                 "compaction_window": None}, "ring": None},
    "storage": {"trace": {"backend": None, "wal": {"path": None}, "local": {"path": None},
                          "block": None, "pool": None, "blocklist_poll": None}},
    "usage_report": {"reporting_enabled": None},
}

# https://grafana.com/docs/loki/latest/configure/ (Loki 3.x, monolithic mode).
LOKI_KEYS = {
    "target": None, "auth_enabled": None, "ballast_bytes": None, "distributor": None,
    "querier": None, "query_scheduler": None, "frontend": None, "query_range": None,
    "ruler": None, "ingester_client": None, "ingester": None, "pattern_ingester": None,
    "index_gateway": None, "storage_config": None, "chunk_store_config": None,
    "frontend_worker": None, "table_manager": None, "runtime_config": None, "memberlist": None,
    "tracing": None,
    "server": {"http_listen_address": None, "http_listen_port": None, "grpc_listen_address": None,
               "grpc_listen_port": None, "log_level": None, "log_format": None},
    "common": {"path_prefix": None, "replication_factor": None, "instance_addr": None,
               "instance_interface_names": None, "compactor_address": None,
               "storage": {"filesystem": {"chunks_directory": None, "rules_directory": None}},
               "ring": {"kvstore": {"store": None}, "instance_addr": None}},
    "schema_config": {"configs": [{"from": None, "store": None, "object_store": None,
                                   "schema": None, "index": {"prefix": None, "period": None},
                                   "row_shards": None}]},
    "limits_config": {"retention_period": None, "reject_old_samples": None,
                      "reject_old_samples_max_age": None, "allow_structured_metadata": None,
                      "ingestion_rate_mb": None, "ingestion_burst_size_mb": None,
                      "max_label_names_per_series": None, "max_query_series": None},
    "compactor": {"working_directory": None, "retention_enabled": None,
                  "delete_request_store": None, "compaction_interval": None,
                  "retention_delete_delay": None},
    "analytics": {"reporting_enabled": None},
}


@pytest.fixture(scope="module")
def tempo(stack) -> dict:
    return yaml.safe_load((stack.compose_dir / "tempo" / "tempo.yaml").read_text())


@pytest.fixture(scope="module")
def loki(stack) -> dict:
    return yaml.safe_load((stack.compose_dir / "loki" / "loki.yaml").read_text())


@pytest.fixture(scope="module")
def llmpulse_cfg(stack) -> dict:
    return yaml.safe_load((stack.compose_dir / "llmpulse" / "llmpulse.yaml").read_text())


def test_tempo_keys_are_documented(tempo, check_keys) -> None:
    assert check_keys(tempo, TEMPO_KEYS) == []


def test_tempo_receives_otlp_and_stores_locally(tempo) -> None:
    protocols = tempo["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"  # not localhost: other containers send
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    trace = tempo["storage"]["trace"]
    assert trace["backend"] == "local"
    assert trace["local"]["path"].startswith("/var/tempo/") and trace["wal"]["path"].startswith("/var/tempo/")
    assert tempo["server"]["http_listen_port"] == 3200


def test_tempo_paths_are_on_its_volume(tempo, resolved_compose) -> None:
    volumes = resolved_compose["services"]["tempo"]["volumes"]
    assert "tempo-data:/var/tempo:rw" in volumes
    gen = tempo["metrics_generator"]
    assert gen["storage"]["path"].startswith("/var/tempo/") and gen["traces_storage"]["path"].startswith("/var/tempo/")


def test_tempo_metrics_generator_feeds_prometheus(tempo, resolved_compose) -> None:
    """Service graph and span metrics reach Prometheus, whose remote-write receiver is on,
    and Grafana's Tempo data source reads them from that Prometheus."""
    (rw,) = tempo["metrics_generator"]["storage"]["remote_write"]
    prom = resolved_compose["services"]["prometheus"]
    assert rw["url"] == "http://prometheus:9090/api/v1/write"
    assert "--web.enable-remote-write-receiver" in prom["command"]
    assert {"service-graphs", "span-metrics"} <= set(tempo["overrides"]["defaults"]["metrics_generator"]["processors"])


def test_loki_keys_are_documented(loki, check_keys) -> None:
    assert check_keys(loki, LOKI_KEYS) == []


def test_loki_single_binary_local_storage(loki, resolved_compose) -> None:
    assert loki["auth_enabled"] is False  # single tenant: no X-Scope-OrgID needed
    assert loki["common"]["replication_factor"] == 1
    assert loki["common"]["ring"]["kvstore"]["store"] == "inmemory"
    (schema,) = loki["schema_config"]["configs"]
    assert (schema["store"], schema["object_store"], schema["schema"]) == ("tsdb", "filesystem", "v13")
    fs = loki["common"]["storage"]["filesystem"]
    assert all(p.startswith("/loki/") for p in fs.values())
    assert "loki-data:/loki:rw" in resolved_compose["services"]["loki"]["volumes"]
    # Retention needs the compactor with a delete-request store (Loki 3 refuses otherwise).
    assert loki["compactor"]["retention_enabled"] is True
    assert loki["compactor"]["delete_request_store"] == "filesystem"
    assert loki["limits_config"]["retention_period"] == "744h"


def test_stack_forwarding_config_is_valid(llmpulse_cfg, tempo) -> None:
    cfg = build(ForwardConfig, llmpulse_cfg["forward"], "forward")  # unknown keys are errors
    otlp = urlsplit(cfg.otlp.endpoint)
    assert otlp.hostname == "tempo"
    assert otlp.port == int(tempo["distributor"]["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
                            .rsplit(":", 1)[1])
    loki = urlsplit(cfg.loki.url)
    assert (loki.hostname, loki.port) == ("loki", 3100)
    assert cfg.loki.content.enabled is False  # text stays off unless the user turns it on


def test_forward_config_typo_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"forward: loki.content.enable: unknown key \(did you mean enabled\?"):
        build(ForwardConfig, {"loki": {"content": {"enable": True}}}, "forward")
    with pytest.raises(ConfigError, match=r"compression"):
        build(ForwardConfig, {"otlp": {"compression": "brotli"}}, "forward")


def test_stack_config_loads(stack, resolved_compose) -> None:
    path = stack.compose_dir / "llmpulse" / "llmpulse.yaml"
    cfg = load_config(path, environ={})
    s = cfg.server
    assert s.host == "0.0.0.0"  # inside its container; the host side binds 127.0.0.1
    assert (s.otlp_http_port, s.otlp_grpc_port, s.metrics_port) == (4318, 4317, 9464)
    ports = resolved_compose["services"]["llmpulse"]["ports"]
    assert sorted(p.rsplit(":", 1)[1].split("/")[0] for p in ports) == ["4317", "4318", "9464"]
    mount = f"{path}:/etc/llmpulse/llmpulse.yaml:ro"
    assert mount in resolved_compose["services"]["llmpulse"]["volumes"]
