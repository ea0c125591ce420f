"""Fixtures for the reliability tests (exporters on free loopback ports, stopped in teardown)."""

from __future__ import annotations

import pytest

from harness import make_exporter

# Long idle windows: per-trace histograms must not be observed halfway through a comparison.
STEADY = {"tracking": {"trace_idle_seconds": 3600, "conversation_idle_seconds": 3600}}


@pytest.fixture
def make():
    """make(**overrides) -> a started Exporter; all of them are stopped after the test."""
    started = []

    def _make(**overrides):
        overrides = {**STEADY, **overrides}
        exp = make_exporter(**overrides)
        started.append(exp)
        return exp

    yield _make
    for exp in started:
        if exp.forwarder is not None:
            exp.forwarder.stop(0.1)
        exp.stop()
