"""pyproject.toml's [tool.mypy] gives the strict modules all of mypy's --strict.

mypy takes `strict` only globally, so pyproject.toml lists its flags one by one; a new mypy minor
may add one. This reads the flags --strict sets from the installed mypy and the options the
project's configuration gives each strict module.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from mypy.main import process_options
from mypy.options import PER_MODULE_OPTIONS

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
STRICT_MODULES = ["llmpulse.records", "llmpulse.config", "llmpulse.typed", "llmpulse.pipeline", "llmpulse.pricing",
                  "llmpulse.crossspan"]


def _options(*args: str):
    with contextlib.chdir(PYPROJECT.parent):        # the configuration names its target: packages = ["llmpulse"]
        return process_options(list(args))[1]


STRICT = _options("--strict", "--config-file=", "-c", "pass")
PLAIN = _options("--config-file=", "-c", "pass")
PROJECT = _options(f"--config-file={PYPROJECT}")


def test_strict_sets_flags():
    assert {n for n in PER_MODULE_OPTIONS if getattr(STRICT, n) != getattr(PLAIN, n)} >= {
        "disallow_untyped_defs", "warn_return_any"}


@pytest.mark.parametrize("module", STRICT_MODULES)
def test_a_strict_module_gets_every_strict_flag(module):
    ours = PROJECT.clone_for_module(module)
    missing = sorted(n for n in PER_MODULE_OPTIONS
                     if getattr(STRICT, n) != getattr(PLAIN, n) and getattr(ours, n) != getattr(STRICT, n))
    assert missing == []


def test_the_global_strict_flags_are_on():
    global_flags = [n for n in ("warn_unused_configs", "warn_redundant_casts", "strict_bytes")
                    if getattr(STRICT, n) != getattr(PLAIN, n)]
    assert global_flags and [n for n in global_flags if getattr(PROJECT, n) != getattr(STRICT, n)] == []


def test_other_modules_are_not_strict():
    """The control: a module outside the list gets the plain defaults plus check_untyped_defs."""
    assert PROJECT.clone_for_module("llmpulse.dashboards.panels").disallow_untyped_defs is False
