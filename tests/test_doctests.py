"""The examples in every module's docstrings run, as the modules' users import them.

Each module under exporter/llmpulse/ is imported by its package name and run with doctest.testmod
(the same modules `pytest --doctest-modules exporter/llmpulse` collects, now that paths match import
names; one parametrised test per module reads better in a failure).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import llmpulse

# modules whose import needs what a test run may not have (the C extension is optional)
OPTIONAL = {"llmpulse._otlpwire"}


def _modules() -> list[str]:
    names = {"llmpulse"}
    for info in pkgutil.walk_packages(llmpulse.__path__, "llmpulse."):
        if info.name not in OPTIONAL and not info.name.endswith("__main__"):
            names.add(info.name)
    return sorted(names)


MODULES = _modules()


def test_every_package_is_walked():
    for pkg in ("llmpulse.dashboards.build", "llmpulse.alerts.thresholds", "llmpulse.demo.traffic",
                "llmpulse.bench.run", "llmpulse.typed", "llmpulse.commands.serve", "llmpulse.paths"):
        assert pkg in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
