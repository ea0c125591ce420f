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


def test_an_installed_alerts_build_without_out_refuses_instead_of_ignoring_the_checkout(wheel, tmp_path):
    # `pip install .` (not -e), then the README's "edit alerts/thresholds.yaml, run `llmpulse alerts build`"
    # from the clone: the installed package reads and writes its own copies, so the edit was silently
    # ignored ("already up to date"). Without --out an installed llmpulse must say so, as `deploy build` does.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                    wheel.filename], check=True, capture_output=True)
    clone = tmp_path / "clone"
    (clone / "alerts").mkdir(parents=True)
    edited = (REPO / "alerts" / "thresholds.yaml").read_text().replace(
        "LLMErrorRatioHighCriticalThreshold: 0.05", "LLMErrorRatioHighCriticalThreshold: 0.07")
    (clone / "alerts" / "thresholds.yaml").write_text(edited)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    where = subprocess.run([sys.executable, "-c", "import llmpulse; print(llmpulse.__file__)"], cwd=clone,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site))
    installed = site / "llmpulse" / "_data" / "alerts"
    before = {p: p.read_bytes() for p in installed.rglob("*") if p.is_file()}
    for argv in (["alerts", "build"], ["alerts", "build", "--check"], ["dashboards", "build"],
                 ["dashboards", "build", "--check"], ["deploy", "build"], ["deploy", "build", "--check"]):
        run = subprocess.run([sys.executable, "-m", "llmpulse", *argv], cwd=clone, env=env,
                             capture_output=True, text=True)
        assert run.returncode == 2, (argv, run.stdout, run.stderr)
        assert "not run from a source checkout of llmpulse: pass --out DIR" in run.stderr
    assert {p: p.read_bytes() for p in installed.rglob("*") if p.is_file()} == before
    # with --out and --thresholds the installed package renders the user's knobs
    run = subprocess.run([sys.executable, "-m", "llmpulse", "alerts", "build", "--thresholds",
                          "alerts/thresholds.yaml", "--out", "alerts/generated"], cwd=clone, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "> 0.07" in (clone / "alerts" / "generated" / "llmpulse-alerts.yaml").read_text()
    run = subprocess.run([sys.executable, "-m", "llmpulse", "dashboards", "build", "--thresholds",
                          "alerts/thresholds.yaml", "--out", "dashboards"], cwd=clone, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "0.07" in (clone / "dashboards" / "llmpulse-overview.json").read_text()
