"""Shared fixtures for the compose stack tests.

No Docker engine, Grafana, Tempo or Loki runs here. What is checked: Debian's
docker-compose v1 (`config`, offline), promtool and amtool on the Prometheus and
Alertmanager configs, and the Grafana/Tempo/Loki files against allow-lists of
the keys their documentation defines (see check_keys).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
TEST_PASSWORD = "test-only-password"

# Paths mounted by the compose file that other areas generate. Tests that need
# them skip, naming the path, until they exist in the branch.
GENERATED_ELSEWHERE = {
    REPO / "alerts" / "generated": "alerts area (llmpulse alerts build)",
    REPO / "alerts" / "alertmanager.yml": "alerts area",
    REPO / "dashboards": "dashboards area (llmpulse dashboards build)",
}


def compose_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GF_", "BIND_", "DEMO_", "PROMETHEUS_", "LLMPULSE_"))}
    env["GF_SECURITY_ADMIN_PASSWORD"] = TEST_PASSWORD
    env.update(extra)
    return env


def run_compose(file: Path, *args: str, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose (Debian package docker-compose, v1) is not installed")
    return subprocess.run([exe, "-f", str(file), *args], capture_output=True, text=True,
                          env=compose_env() if env is None else env, cwd=cwd or file.parent,
                          timeout=120)


@pytest.fixture(scope="session")
def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def resolved_compose() -> dict[str, Any]:
    """`docker-compose config` output: variables substituted, paths absolute."""
    proc = run_compose(COMPOSE_FILE, "--profile", "demo", "config")
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


@pytest.fixture
def tmp_copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of compose/ (for broken variants), with ../ paths kept valid."""
    dst = tmp_path / "repo" / "compose"
    shutil.copytree(COMPOSE_DIR, dst)
    yield dst


# --- allow-list schemas ---------------------------------------------------------
# A schema is: a dict {key: sub-schema} of allowed keys (nested), a list
# [item-schema] for a list of items, or None for a leaf whose content is not checked.


def _check_keys(data: Any, schema: Any, path: str = "") -> list[str]:
    """Every key in ``data`` must appear in ``schema``; returns the offending paths."""
    if schema is None:
        return []
    errors: list[str] = []
    if isinstance(schema, dict):
        if not isinstance(data, dict):
            return [f"{path or '<root>'}: expected a mapping"]
        for key, value in data.items():
            if key not in schema:
                errors.append(f"{path}.{key}".lstrip("."))
            else:
                errors.extend(_check_keys(value, schema[key], f"{path}.{key}"))
    elif isinstance(schema, list):
        if not isinstance(data, list):
            return [f"{path}: expected a list"]
        for i, item in enumerate(data):
            errors.extend(_check_keys(item, schema[0], f"{path}[{i}]"))
    return errors


@pytest.fixture(scope="session")
def check_keys():
    return _check_keys


@pytest.fixture(scope="session")
def stack():
    """Paths and helpers: repo, compose_dir, compose_file, generated_elsewhere,
    run_compose(file, *args, env=None, cwd=None), compose_env(**extra)."""
    import types
    return types.SimpleNamespace(repo=REPO, compose_dir=COMPOSE_DIR, compose_file=COMPOSE_FILE,
                                 generated_elsewhere=GENERATED_ELSEWHERE, run_compose=run_compose,
                                 compose_env=compose_env, password=TEST_PASSWORD)
