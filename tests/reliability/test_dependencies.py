"""Dependency audit, as far as it can run offline.

1. `pip check`: the installed environment is consistent.
2. Every runtime dependency declared by llmpulse is installed and satisfies its specifier.
3. Every package in llmpulse's runtime closure is at or above the version that fixed the
   advisories listed in ADVISORY_FLOORS (a snapshot, dated; extend it when an advisory lands).
4. `pip-audit` against its advisory database, when pip-audit is installed and the database
   is reachable; skipped otherwise (it is not reachable from the build machine; see
   docs/reliability.md).
"""

from __future__ import annotations

import importlib.metadata as md
import shutil
import subprocess
import sys

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

FLOORS_CHECKED = "2026-11-23"
# package -> (lowest version without the listed advisories, advisories)
ADVISORY_FLOORS = {
    "requests": ("2.32.4", "CVE-2024-35195, CVE-2024-47081"),
    "urllib3": ("2.5.0", "CVE-2024-37891, CVE-2025-50181, CVE-2025-50182"),
    "idna": ("3.7", "CVE-2024-3651"),
    "certifi": ("2024.7.4", "CVE-2024-39689"),
    "protobuf": ("4.25.8", "CVE-2025-4565 (also fixed in 5.29.5, 6.31.1)"),
    "grpcio": ("1.56.2", "CVE-2023-32731, CVE-2023-33953"),
    "pyyaml": ("5.4", "CVE-2020-14343"),
    # added 2026-12-04 with the HTTP server (uvicorn pulls in h11 and click)
    "uvicorn": ("0.11.7", "CVE-2020-7694, CVE-2020-7695"),
    "h11": ("0.16.0", "CVE-2025-43859"),
}
PROTOBUF_FIXED_PER_MAJOR = {4: "4.25.8", 5: "5.29.5", 6: "6.31.1"}


def runtime_closure(root: str = "llmpulse") -> dict[str, str]:
    """Installed name -> version of everything llmpulse needs at run time (no extras)."""
    env = {**default_environment(), "extra": ""}
    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            raise AssertionError(f"{name} is required but not installed") from None
        seen[name] = dist.version
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(req.name)
    return seen


def test_pip_check_finds_no_broken_requirements():
    r = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_declared_runtime_dependencies_are_satisfied():
    env = {**default_environment(), "extra": ""}
    for spec in md.requires("llmpulse") or []:
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        installed = md.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} does not meet {spec}"


def test_runtime_closure_is_past_known_advisories():
    closure = runtime_closure()
    assert {"prometheus-client", "protobuf", "grpcio", "requests", "urllib3"} <= set(closure)
    too_old = []
    for name, (floor, advisories) in ADVISORY_FLOORS.items():
        version = closure.get(canonicalize_name(name))
        if version is None:
            continue
        v = Version(version)
        if name == "protobuf" and v.major in PROTOBUF_FIXED_PER_MAJOR:
            floor = PROTOBUF_FIXED_PER_MAJOR[v.major]
        if v < Version(floor):
            too_old.append(f"{name} {version} < {floor} ({advisories})")
    assert too_old == []


def test_pip_audit_when_available():
    exe = shutil.which("pip-audit")
    if exe is None:
        pytest.skip("pip-audit is not installed (tests/run.sh can install it; see docs/reliability.md)")
    reqs = "\n".join(f"{n}=={v}" for n, v in sorted(runtime_closure().items()) if n != "llmpulse")
    r = subprocess.run([exe, "--progress-spinner", "off", "--strict", "-r", "/dev/stdin"], input=reqs,
                       capture_output=True, text=True, timeout=300)
    if "could not be audited" in r.stdout + r.stderr or "ConnectionError" in r.stderr:
        pytest.skip("pip-audit cannot reach its advisory database from here")
    assert r.returncode == 0, r.stdout + r.stderr
