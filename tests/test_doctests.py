"""The examples in every module's docstrings run, as the modules' users import them.

`pytest --doctest-modules` cannot be used while pyproject maps exporter/ to `llmpulse`: it imports
exporter/typed.py a second time as `exporter.typed`, whose classes then differ from `llmpulse.typed`'s,
and its examples fail. So each module is imported by its package name and run with doctest.testmod.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import llmpulse
import llmpulse.alerts
import llmpulse.dashboards

# modules whose import needs what a test run may not have (the C extension is optional)
OPTIONAL = {"llmpulse._otlpwire"}


def _modules() -> list[str]:
    # dashboards/ and alerts/ are mapped into llmpulse by pyproject, not under exporter/: walk each
    names = {"llmpulse", "llmpulse.dashboards", "llmpulse.alerts"}
    for pkg in (llmpulse, llmpulse.dashboards, llmpulse.alerts):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if info.name not in OPTIONAL and not info.name.endswith("__main__"):
                names.add(info.name)
    return sorted(names)


MODULES = _modules()


def test_every_package_is_walked():
    for pkg in ("llmpulse.dashboards.build", "llmpulse.alerts.thresholds", "llmpulse.demo.traffic",
                "llmpulse.bench.run", "llmpulse.typed"):
        assert pkg in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
