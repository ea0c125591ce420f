"""compose/docker-compose.yml: validated by Debian's docker-compose v1 (offline),
plus the promises docs/compose.md makes about it (pinned images, localhost ports,
named volumes, healthchecks, no default password, non-root read-only exporter)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

SERVICES = {"llmpulse", "prometheus", "alertmanager", "grafana", "tempo", "volume-init", "loki", "demo"}


@pytest.mark.slow
def test_config_is_valid(stack) -> None:
    proc = stack.run_compose(stack.compose_file, "config", "-q")
    assert proc.returncode == 0, proc.stderr
    proc = stack.run_compose(stack.compose_file, "--profile", "demo", "config", "--services")
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == SERVICES


def test_no_top_level_name(raw_compose) -> None:
    assert "name" not in raw_compose  # docker-compose v1 rejects it


@pytest.mark.parametrize("breakage,message", [
    (lambda d: d["services"]["prometheus"].update(portz=["1:1"]), "portz"),
    (lambda d: d["services"]["grafana"]["depends_on"].update(nosuch={"condition": "service_started"}),
     "nosuch"),
    (lambda d: d["services"]["llmpulse"]["healthcheck"].update(intervall="1s"), "intervall"),
    (lambda d: d.update(name="llmpulse"), "name"),
])
def test_broken_copy_fails(stack, tmp_copy, breakage, message) -> None:
    path = tmp_copy / "docker-compose.yml"
    data = yaml.safe_load(path.read_text())
    breakage(data)
    path.write_text(yaml.safe_dump(data))
    proc = stack.run_compose(path, "config", "-q")
    assert proc.returncode != 0
    assert message in proc.stderr


def test_grafana_password_has_no_default(stack, raw_compose) -> None:
    env = raw_compose["services"]["grafana"]["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "${GF_SECURITY_ADMIN_PASSWORD:?set it in .env}"
    proc = stack.run_compose(stack.compose_file, "config", "-q",
                             env={k: v for k, v in stack.compose_env().items()
                                  if k != "GF_SECURITY_ADMIN_PASSWORD"})
    assert proc.returncode != 0
    assert "set it in .env" in proc.stderr


def test_images_are_pinned(resolved_compose) -> None:
    for name, svc in resolved_compose["services"].items():
        image = svc["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        assert re.search(r"\d", tag), f"{name}: tag {tag!r} has no version"


def test_ports_bind_to_localhost_by_default(resolved_compose, stack) -> None:
    published = []
    for name, svc in resolved_compose["services"].items():
        for port in svc.get("ports", []):
            published.append(port)
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
    assert len(published) == 6
    # Opting out is one variable.
    proc = stack.run_compose(stack.compose_file, "config",
                             env=stack.compose_env(BIND_ADDRESS="0.0.0.0"))
    assert proc.returncode == 0, proc.stderr
    opened = yaml.safe_load(proc.stdout)
    ports = [p for s in opened["services"].values() for p in s.get("ports", [])]
    assert all(str(p).startswith("0.0.0.0:") for p in ports)


def test_loki_and_tempo_are_not_published(resolved_compose) -> None:
    assert "ports" not in resolved_compose["services"]["loki"]
    assert "ports" not in resolved_compose["services"]["tempo"]


def test_state_lives_in_named_volumes(resolved_compose) -> None:
    named = set(resolved_compose["volumes"])
    expected = {"prometheus": "/prometheus", "alertmanager": "/alertmanager",
                "grafana": "/var/lib/grafana", "tempo": "/var/tempo", "loki": "/loki"}
    for service, target in expected.items():
        mounts = [v.split(":") for v in resolved_compose["services"][service]["volumes"]]
        assert any(src in named and dst == target for src, dst, *_ in mounts), service


def test_healthchecks_and_start_order(resolved_compose) -> None:
    svcs = resolved_compose["services"]
    for name in ("llmpulse", "prometheus", "alertmanager", "grafana", "tempo", "loki"):
        assert svcs[name]["healthcheck"]["test"][0] == "CMD", name
    # Loki 3.3.2's image is gcr.io/distroless/static:debug (cmd/loki/Dockerfile at v3.3.2):
    # busybox lives in /busybox; Tempo 2.6.1's is Alpine (cmd/tempo/Dockerfile): wget on PATH.
    assert svcs["loki"]["healthcheck"]["test"][1:] == ["/busybox/wget", "-q", "-O", "/dev/null",
                                                       "http://127.0.0.1:3100/ready"]
    for name in ("llmpulse", "grafana"):
        for backend in ("tempo", "loki"):
            assert svcs[name]["depends_on"][backend]["condition"] == "service_healthy", (name, backend)
    assert svcs["prometheus"]["depends_on"]["llmpulse"]["condition"] == "service_healthy"
    assert svcs["prometheus"]["depends_on"]["alertmanager"]["condition"] == "service_healthy"
    assert svcs["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name in ("tempo", "loki"):
        assert svcs[name]["depends_on"]["volume-init"]["condition"] == "service_completed_successfully"
    assert set(svcs["volume-init"]["volumes"]) == {"tempo-data:/var/tempo:rw", "loki-data:/loki:rw"}
    assert svcs["demo"]["depends_on"]["llmpulse"]["condition"] == "service_healthy"
    assert "http://127.0.0.1:9464/healthz" in " ".join(svcs["llmpulse"]["healthcheck"]["test"])


def test_exporter_runs_locked_down(resolved_compose) -> None:
    svc = resolved_compose["services"]["llmpulse"]
    assert svc["read_only"] is True
    assert svc["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in svc["security_opt"]
    assert any(t.startswith("/tmp") for t in svc["tmpfs"])
    assert svc.get("user", "") in ("", "10001", "10001:10001")  # the image's USER applies


def test_prometheus_flags(resolved_compose) -> None:
    cmd = resolved_compose["services"]["prometheus"]["command"]
    assert "--enable-feature=exemplar-storage" in cmd
    retention = next(c for c in cmd if c.startswith("--storage.tsdb.retention.time="))
    value = retention.split("=", 1)[1]
    assert value.endswith("d") and int(value[:-1]) >= 35


def test_demo_profile(resolved_compose, raw_compose) -> None:
    demo = resolved_compose["services"]["demo"]
    assert demo["profiles"] == ["demo"]
    assert demo["command"][:3] == ["demo", "--target", "http://llmpulse:4318"]
    assert demo["image"] == resolved_compose["services"]["llmpulse"]["image"]
    # Without the profile the demo does not start.
    assert "profiles" not in raw_compose["services"]["llmpulse"]


def test_every_variable_is_documented_in_env_example(stack) -> None:
    text = stack.compose_file.read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (stack.compose_dir / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert used - documented == set()
    assert documented - used == set()
    assert re.search(r"^GF_SECURITY_ADMIN_PASSWORD=$", example, re.M)  # empty: user must set it


def test_env_example_works_as_env(stack, tmp_copy) -> None:
    example = (tmp_copy / ".env.example").read_text()
    (tmp_copy / ".env").write_text(example.replace("GF_SECURITY_ADMIN_PASSWORD=",
                                                   "GF_SECURITY_ADMIN_PASSWORD=from-dotenv"))
    env = {k: v for k, v in stack.compose_env().items() if k != "GF_SECURITY_ADMIN_PASSWORD"}
    proc = stack.run_compose(tmp_copy / "docker-compose.yml", "config", env=env)
    assert proc.returncode == 0, proc.stderr
    cfg = yaml.safe_load(proc.stdout)
    assert cfg["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "from-dotenv"


def _bind_mounts(resolved_compose) -> list[tuple[str, Path]]:
    out = []
    for name, svc in resolved_compose["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("/"):
                out.append((name, Path(src)))
        build = svc.get("build")
        if build:
            out.append((name, Path(build["context"]) / build["dockerfile"]))
    return out


def test_every_mounted_file_of_this_area_exists(resolved_compose, stack) -> None:
    mounts = _bind_mounts(resolved_compose)
    assert len(mounts) >= 8
    for service, path in mounts:
        if any(path == p or p in path.parents for p in stack.generated_elsewhere):
            continue
        assert path.exists(), f"{service} mounts {path}, which does not exist"


@pytest.mark.parametrize("generated", ["alerts/generated", "alerts/alertmanager.yml", "dashboards"])
def test_mounted_paths_from_other_areas_exist(resolved_compose, stack, generated) -> None:
    target = stack.repo / generated
    mounted = [p for _, p in _bind_mounts(resolved_compose)]
    assert target in mounted, f"the compose file should mount {generated}"
    if generated == "alerts/generated":
        rules = sorted(target.glob("*.yaml")) if target.is_dir() else []
        if not rules:
            pytest.skip(f"{generated}/*.yaml not in this branch yet ({stack.generated_elsewhere[target]})")
        return
    if generated == "dashboards":
        if not sorted(target.glob("*.json")):
            pytest.skip(f"dashboards/*.json not in this branch yet ({stack.generated_elsewhere[target]})")
        return
    if not target.exists():
        pytest.skip(f"{generated} not in this branch yet ({stack.generated_elsewhere[target]})")


TOKEN_TARGET = "/run/secrets/llmpulse_token"


def test_bearer_token_reaches_llmpulse_prometheus_and_demo(resolved_compose, raw_compose, stack) -> None:
    """docs/compose.md's auth switch: one secret file, read by llmpulse and sent by Prometheus."""
    svcs = resolved_compose["services"]
    secret = resolved_compose["secrets"]["llmpulse_token"]
    assert Path(secret["file"]) == stack.compose_dir / "llmpulse" / "auth-off.token"
    assert Path(secret["file"]).read_text() == ""  # the default: auth off
    for name in ("llmpulse", "prometheus", "demo"):
        assert [s["source"] if isinstance(s, dict) else s for s in svcs[name]["secrets"]] == ["llmpulse_token"], name
    assert svcs["llmpulse"]["environment"]["LLMPULSE_AUTH_TOKEN_FILE"] == TOKEN_TARGET
    env_files = raw_compose["services"]["llmpulse"]["env_file"]  # `config` inlines the file's variables
    assert env_files and all((stack.compose_dir / f).is_file() for f in env_files)
    cmd = svcs["demo"]["command"]
    assert cmd[cmd.index("--token-file") + 1] == TOKEN_TARGET
    prom = yaml.safe_load((stack.compose_dir / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in prom["scrape_configs"] if j["job_name"] == "llmpulse")
    assert job["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_TARGET}


def test_token_file_is_switched_in_env(stack, tmp_copy) -> None:
    (tmp_copy / "secrets" / "llmpulse-token").write_text("tok\n")
    env = stack.compose_env(LLMPULSE_TOKEN_FILE="./secrets/llmpulse-token")
    proc = stack.run_compose(tmp_copy / "docker-compose.yml", "config", env=env)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["secrets"]["llmpulse_token"]["file"] == str(tmp_copy / "secrets" / "llmpulse-token")


def test_secrets_folder_is_git_ignored(stack) -> None:
    ignore = (stack.compose_dir / "secrets" / ".gitignore").read_text().split()
    assert "*" in ignore and "!.gitignore" in ignore
