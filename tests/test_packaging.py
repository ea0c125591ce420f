"""The wheel built from this checkout carries what an installed `llmpulse` reads at run time.

The user-facing files live in the top-level dashboards/ and alerts/ folders and reach the package
through the symlinks exporter/llmpulse/_data/{dashboards,alerts} (docs/architecture.md, "Where the
code is"); a wheel must hold copies of every one of them, byte for byte.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow       # builds a wheel (compiles the C decoder): about 20 s


def _user_files() -> dict[str, bytes]:
    """Every tracked file under dashboards/ and alerts/, keyed by its path inside the wheel."""
    tracked = subprocess.run(["git", "ls-files", "dashboards", "alerts"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    return {f"llmpulse/_data/{name}": (REPO / name).read_bytes() for name in tracked}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(REPO)], check=True, capture_output=True)
    (path,) = out.glob("llmpulse-*.whl")
    return zipfile.ZipFile(path)


def test_the_checkout_reaches_user_files_through_the_symlinks():
    from llmpulse import paths

    assert paths.DASHBOARDS_DIR == REPO / "dashboards"
    assert paths.ALERTS_DIR == REPO / "alerts"
    assert paths.DEPLOY_DIR == REPO / "deploy"


def test_the_wheel_holds_every_dashboard_and_alert_file(wheel):
    expected = _user_files()
    assert any(name.endswith(".json") for name in expected) and any("mixin/lib/" in n for n in expected)
    inside = set(wheel.namelist())
    missing = sorted(set(expected) - inside)
    assert missing == []
    changed = [name for name, data in expected.items() if wheel.read(name) != data]
    assert changed == []


def test_the_wheel_holds_the_price_table_and_every_module(wheel):
    inside = set(wheel.namelist())
    assert "llmpulse/prices.yaml" in inside
    modules = {str(p.relative_to(REPO / "exporter")) for p in (REPO / "exporter" / "llmpulse").rglob("*.py")}
    assert sorted(modules - inside) == []
