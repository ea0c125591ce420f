"""deploy/kubernetes: fresh against its source, valid against the Kubernetes and CRD schemas, and
internally consistent (selectors, ports, names the Collector resolves, the drain it waits for).

Core objects: `kubernetes-validate` in strict mode (unknown fields are errors) for Kubernetes 1.30
and 1.37. ServiceMonitor / PrometheusRule: the Prometheus Operator v0.93.0 CRDs in crds/ (see its
README). The overlay is built with `kubectl kustomize` where kubectl is installed; its references
are checked in Python always.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from llmpulse import deploy
from llmpulse import kubernetes as k8s
from llmpulse.config import SHUTDOWN_DRAIN_SECONDS, ServerConfig, load_config

kubernetes_validate = pytest.importorskip("kubernetes_validate")

CRD_DIR = Path(__file__).parent / "crds"
K8S_VERSIONS = ["1.30.0", "1.37.0"]
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}


def rendered_objects() -> list[dict]:
    return [o for objects in k8s.base_files().values() for o in objects]


def by_kind(kind: str, name: str | None = None) -> list[dict]:
    return [o for o in rendered_objects() if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(kind: str, name: str) -> dict:
    found = by_kind(kind, name)
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


# ---------------------------------------------------------------------------
# Fresh


def test_committed_files_are_fresh():
    assert deploy.stale() == [], "run `llmpulse deploy build`"


@pytest.mark.slow
def test_check_flags_an_edited_or_extra_file(tmp_path):
    from llmpulse.cli import main

    assert main(["deploy", "build", "--out", str(tmp_path)]) == 0
    assert main(["deploy", "build", "--out", str(tmp_path), "--check"]) == 0
    deployment = tmp_path / "kubernetes" / "base" / "llmpulse-deployment.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: 3", "replicas: 2"))
    (tmp_path / "kubernetes" / "base" / "by-hand.yaml").write_text("kind: ConfigMap\n")
    assert sorted(deploy.stale(tmp_path)) == ["kubernetes/base/by-hand.yaml", "kubernetes/base/llmpulse-deployment.yaml"]
    assert main(["deploy", "build", "--out", str(tmp_path), "--check"]) == 1


# ---------------------------------------------------------------------------
# Schemas


def _validate_core(obj: dict, version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_core_objects_validate_strictly(version):
    core = [o for o in rendered_objects() if o["kind"] not in OPERATOR_KINDS]
    assert {o["kind"] for o in core} >= {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap",
                                         "ServiceAccount", "Role", "RoleBinding"}
    for obj in core:
        _validate_core(obj, version)


def test_strict_validation_catches_an_unknown_field():
    """The validator really is strict: a misspelt field in the pod spec is an error."""
    broken = copy.deepcopy(one("Deployment", "llmpulse"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate_core(broken, K8S_VERSIONS[-1])


def _crd_schema(kind: str) -> dict:
    for path in CRD_DIR.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["kind"] == kind:
            version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
            return version["schema"]["openAPIV3Schema"]
    raise AssertionError(f"no CRD for {kind} in {CRD_DIR}")


def undeclared_fields(value, schema: dict, path: str = "") -> list[str]:
    """Fields of `value` the structural schema does not declare (the API server would prune them)."""
    if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-int-or-string"):
        return []
    out = []
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                out += undeclared_fields(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                out += undeclared_fields(item, extra, f"{path}.{key}")
            elif path in ("", ".metadata") and key in ("apiVersion", "kind", "metadata", "name", "labels",
                                                       "annotations", "namespace"):
                continue
            else:
                out.append(f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += undeclared_fields(item, schema["items"], f"{path}[{i}]")
    return out


def _validate_operator(obj: dict) -> None:
    schema = _crd_schema(obj["kind"])
    jsonschema.Draft7Validator(schema).validate(obj)
    assert undeclared_fields(obj, schema) == [], obj["kind"]


@pytest.mark.parametrize("kind", sorted(OPERATOR_KINDS))
def test_operator_objects_validate_against_their_crds(kind):
    objects = by_kind(kind)
    assert len(objects) == 1
    _validate_operator(objects[0])


def test_crd_validation_catches_a_wrong_type_and_an_unknown_field():
    monitor = copy.deepcopy(one("ServiceMonitor", "llmpulse"))
    monitor["spec"]["endpoints"][0]["interval"] = 15  # must be a duration string
    with pytest.raises(jsonschema.ValidationError):
        _validate_operator(monitor)
    monitor = copy.deepcopy(one("ServiceMonitor", "llmpulse"))
    monitor["spec"]["endpoints"][0]["bearerTokenSecrett"] = {"name": "x", "key": "y"}
    with pytest.raises(AssertionError):
        _validate_operator(monitor)


# ---------------------------------------------------------------------------
# Contents


def test_prometheus_rule_is_the_generated_rules_and_alerts():
    from llmpulse.alerts.build import ALERTS_FILE, GENERATED_DIR, RULES_FILE

    expected = [g for f in (RULES_FILE, ALERTS_FILE) for g in yaml.safe_load((GENERATED_DIR / f).read_text())["groups"]]
    assert one("PrometheusRule", "llmpulse")["spec"]["groups"] == expected
    names = {r.get("alert") for g in expected for r in g["rules"]}
    assert {"LLMTelemetryAbsent", "LLMSpendSpike", "LLMAvailabilitySLOBurn"} <= names


def test_every_dashboard_is_a_sidecar_config_map():
    from llmpulse.dashboards.build import DASHBOARD_DIR

    maps = [o for o in by_kind("ConfigMap") if o["metadata"]["labels"].get("grafana_dashboard") == "1"]
    files = sorted(DASHBOARD_DIR.glob("*.json"))
    assert files and len(maps) == len(files)   # every committed dashboard, the serving engines too
    for config_map, path in zip(maps, files):
        assert config_map["data"] == {path.name: path.read_text()}


def test_exporter_config_map_is_a_valid_llmpulse_config(tmp_path):
    text = one("ConfigMap", "llmpulse-config")["data"]["llmpulse.yaml"]
    (tmp_path / "llmpulse.yaml").write_text(text)
    cfg = load_config(str(tmp_path / "llmpulse.yaml"))
    ports = {"otlp-grpc": cfg.server.otlp_grpc_port, "otlp-http": cfg.server.otlp_http_port,
             "metrics": cfg.server.metrics_port}
    assert ports == k8s.PORTS
    assert cfg.auth.protect_metrics


def test_deployment_runs_hardened_with_probes_resources_and_the_drain():
    dep = one("Deployment", "llmpulse")
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert dep["spec"]["replicas"] >= 2
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
    assert c["securityContext"]["readOnlyRootFilesystem"] and not c["securityContext"]["allowPrivilegeEscalation"]
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {c["livenessProbe"]["httpGet"]["port"]} == {p["name"] for p in c["ports"] if p["containerPort"] == 9464}
    assert set(c["resources"]) == {"requests", "limits"}
    # the grace period covers the preStop sleep and the exporter's whole drain; the sleep covers the
    # endpoint removal and one more scrape, which the metrics Service still reaches
    sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    interval = int(one("ServiceMonitor", "llmpulse")["spec"]["endpoints"][0]["interval"].rstrip("s"))
    assert sleep >= interval + 5
    assert one("Service", "llmpulse-metrics")["spec"]["publishNotReadyAddresses"] is True
    assert one("Service", "llmpulse-headless")["spec"]["publishNotReadyAddresses"] is False
    assert pod["terminationGracePeriodSeconds"] >= sleep + SHUTDOWN_DRAIN_SECONDS + 1
    # once issue 13's config key exists, its default is this same constant
    assert getattr(ServerConfig(), "shutdown_drain_seconds", SHUTDOWN_DRAIN_SECONDS) == SHUTDOWN_DRAIN_SECONDS
    # the token comes from the Secret, as a file
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    secret = next(v for v in pod["volumes"] if v["name"] == "auth")["secret"]["secretName"]
    assert secret == k8s.SECRET
    assert {"name": "LLMPULSE_AUTH_TOKEN_FILE", "value": f"{mounts['auth']}/{k8s.SECRET_KEY}"} in c["env"]
    assert mounts["tmp"] == "/tmp"


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_selectors_and_ports_line_up():
    dep = one("Deployment", "llmpulse")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    container_ports = {p["name"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert _matches(dep["spec"]["selector"]["matchLabels"], pod_labels)
    for svc in by_kind("Service"):
        if svc["metadata"]["name"].startswith("llmpulse"):
            assert _matches(svc["spec"]["selector"], pod_labels)
            assert {p["targetPort"] for p in svc["spec"]["ports"]} <= container_ports
    assert _matches(one("PodDisruptionBudget", "llmpulse")["spec"]["selector"]["matchLabels"], pod_labels)
    headless = one("Service", "llmpulse-headless")["spec"]
    assert headless["clusterIP"] == "None" and [p["port"] for p in headless["ports"]] == [4317]
    monitor = one("ServiceMonitor", "llmpulse")["spec"]
    metrics = [s for s in by_kind("Service") if _matches(monitor["selector"]["matchLabels"], s["metadata"]["labels"])]
    assert [s["metadata"]["name"] for s in metrics] == ["llmpulse-metrics"]
    assert monitor["endpoints"][0]["port"] in {p["name"] for p in metrics[0]["spec"]["ports"]}
    assert monitor["endpoints"][0]["authorization"]["credentials"]["name"] == k8s.SECRET


def test_collector_routes_by_trace_id_to_the_headless_service():
    config = yaml.safe_load(one("ConfigMap", "otel-collector-config")["data"]["collector.yaml"])
    lb = config["exporters"]["loadbalancing"]
    assert lb["routing_key"] == "traceID"
    assert lb["resolver"]["k8s"] == {"service": "llmpulse-headless", "ports": [4317]}
    assert lb["retry_on_failure"]["enabled"] and lb["sending_queue"]["enabled"]
    for signal in ("traces", "logs"):  # evaluation results as log records follow their trace
        pipeline = config["service"]["pipelines"][signal]
        assert pipeline["processors"][0] == "memory_limiter"
        assert pipeline["exporters"] == ["loadbalancing"]
    dep = one("Deployment", "otel-collector")
    assert "contrib" in dep["spec"]["template"]["spec"]["containers"][0]["image"]
    rules = one("Role", "otel-collector")["rules"]
    assert any("endpoints" in r["resources"] and "watch" in r["verbs"] for r in rules)
    binding = one("RoleBinding", "otel-collector")
    assert binding["subjects"][0]["name"] == dep["spec"]["template"]["spec"]["serviceAccountName"]


# ---------------------------------------------------------------------------
# Kustomize


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_kustomization_references_resolve():
    """Without kustomize: every resource, patch target, replica and image name the overlay uses exists."""
    base_dir = deploy.DEPLOY_DIR / "kubernetes" / "base"
    base = _load(base_dir / "kustomization.yaml")
    objects = []
    for name in base["resources"]:
        assert (base_dir / name).is_file(), name
        objects += [o for o in yaml.safe_load_all((base_dir / name).read_text()) if o]
    assert sorted(p.name for p in base_dir.glob("*.yaml") if p.name != "kustomization.yaml") == sorted(base["resources"])
    overlay_dir = deploy.DEPLOY_DIR / "kubernetes" / "overlays" / "example"
    overlay = _load(overlay_dir / "kustomization.yaml")
    assert [(overlay_dir / r).resolve() for r in overlay["resources"]] == [base_dir.resolve()]
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for patch in overlay["patches"]:
        assert (patch["target"]["kind"], patch["target"]["name"]) in names
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert {r["name"] for r in overlay["replicas"]} <= deployments
    images = {c["image"].split(":")[0] for o in objects if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert {i["name"] for i in overlay["images"]} <= images


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) not installed")
def test_overlay_builds_with_kustomize_and_validates():
    out = subprocess.run(["kubectl", "kustomize", str(deploy.DEPLOY_DIR / "kubernetes" / "overlays" / "example")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    objects = [o for o in yaml.safe_load_all(out.stdout) if o]
    assert len(objects) == len(rendered_objects())
    for obj in objects:
        assert obj["metadata"]["namespace"] == "llm-observability", obj["metadata"]["name"]
        if obj["kind"] in OPERATOR_KINDS:
            _validate_operator(obj)
            assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        else:
            _validate_core(obj, K8S_VERSIONS[-1])
    dep = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "llmpulse")
    assert dep["spec"]["replicas"] == 4
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].startswith("registry.example.com/llmpulse:")
    binding = next(o for o in objects if o["kind"] == "RoleBinding")
    assert binding["subjects"][0]["namespace"] == "llm-observability"


def test_your_thresholds_reach_the_prometheus_rule_from_an_installed_package(tmp_path):
    """docs/scaling.md: thresholds of your own, built with `alerts build --out` (all an installed
    package allows), shipped by `deploy build --rules`; before, the PrometheusRule silently kept
    the shipped thresholds."""
    from llmpulse.cli import main

    mine = tmp_path / "mine.yaml"
    mine.write_text("LLMErrorRatioHighCriticalThreshold: 0.12\n")
    assert main(["alerts", "build", "--thresholds", str(mine), "--out", str(tmp_path / "rules")]) == 0
    assert main(["deploy", "build", "--out", str(tmp_path / "d"), "--rules", str(tmp_path / "rules")]) == 0
    rule = yaml.safe_load((tmp_path / "d/kubernetes/base/llmpulse-prometheusrule.yaml").read_text().split("---\n", 1)[1])
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "LLMErrorRatioHigh"]
    assert any("> 0.12" in e for e in exprs) and not any("> 0.05" in e for e in exprs), exprs
    # the Prometheus configurations load those rule files too (they kept ../../alerts/generated, which is
    # nothing, or the shipped rules, outside the checkout), and --check agrees with what was written
    for name in ("prometheus-ha-pair.yml", "remote-write-mimir.yml"):
        folder = tmp_path / "d" / "prometheus"
        (glob,) = yaml.safe_load((folder / name).read_text())["rule_files"]
        files = sorted(p.name for p in folder.glob(glob))
        assert files == ["llmpulse-alerts.yaml", "llmpulse-rules.yaml"], (name, glob)
        assert (folder / glob).parent.resolve() == (tmp_path / "rules").resolve()
    assert main(["deploy", "build", "--out", str(tmp_path / "d"), "--rules", str(tmp_path / "rules"), "--check"]) == 0
    assert main(["deploy", "build", "--out", str(tmp_path / "d"), "--rules", str(tmp_path / "nothing")]) == 2


def test_the_prometheus_configs_scrape_the_namespace_the_overlay_deploys_into():
    """deploy/prometheus/*.yml scraped llmpulse-metrics.llmpulse.svc while docs/scaling.md and the example
    overlay deploy into llm-observability."""
    from llmpulse.paths import DEPLOY_DIR

    overlay = yaml.safe_load((DEPLOY_DIR / "kubernetes/overlays/example/kustomization.yaml").read_text())
    assert f"kubectl create namespace {overlay['namespace']}" in (DEPLOY_DIR.parent / "docs" / "scaling.md").read_text()
    for path in sorted((DEPLOY_DIR / "prometheus").glob("*.yml")):
        config = yaml.safe_load(path.read_text())
        names = [n for job in config["scrape_configs"] for sd in job.get("dns_sd_configs", []) for n in sd["names"]]
        assert names == [f"llmpulse-metrics.{overlay['namespace']}.svc.cluster.local"], (path.name, names)


def test_scaling_md_points_applications_at_the_collector_service():
    """docs/scaling.md tells applications where to send (they were never told): the Collector's Service,
    in the overlay's namespace, on a port that Service exposes."""
    import re

    from llmpulse.paths import DEPLOY_DIR

    doc = (DEPLOY_DIR.parent / "docs" / "scaling.md").read_text()
    m = re.search(r"OTEL_EXPORTER_OTLP_ENDPOINT=http://([a-z-]+)\.([a-z-]+):(\d+)", doc)
    assert m, "no OTEL_EXPORTER_OTLP_ENDPOINT line"
    overlay = yaml.safe_load((DEPLOY_DIR / "kubernetes/overlays/example/kustomization.yaml").read_text())
    assert m.group(2) == overlay["namespace"]
    objects = list(yaml.safe_load_all((DEPLOY_DIR / "kubernetes/base/otel-collector.yaml").read_text()))
    service = next(o for o in objects if o and o["kind"] == "Service" and o["metadata"]["name"] == m.group(1))
    assert int(m.group(3)) in {p["port"] for p in service["spec"]["ports"]}
