"""The suite tests the checkout it lives in, not another one's editable install of llmpulse."""

from __future__ import annotations

import os
import subprocess
import sys

import llmpulse
from conftest import REPO_ROOT, imported_from_this_checkout


def test_llmpulse_is_imported_from_this_checkout():
    assert imported_from_this_checkout(llmpulse.__file__)
    assert os.path.realpath(llmpulse.__file__).startswith(os.path.realpath(REPO_ROOT) + os.sep)


def test_a_module_outside_the_checkout_is_refused(tmp_path):
    assert not imported_from_this_checkout(str(tmp_path / "llmpulse" / "__init__.py"))
    # a sibling checkout whose name starts like this one's is outside it too
    assert not imported_from_this_checkout(REPO_ROOT + "-other/exporter/llmpulse/__init__.py")


def test_the_suite_stops_before_collecting_when_llmpulse_comes_from_elsewhere(tmp_path):
    fake = tmp_path / "site" / "llmpulse"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co",
                          os.path.join(REPO_ROOT, "tests", "test_checkout.py")],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "outside this checkout" in out.stdout + out.stderr, out.stdout + out.stderr
