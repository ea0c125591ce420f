import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import LiveStack, make_exporter  # noqa: E402


@pytest.fixture
def exporter():
    exp = make_exporter(tracking={"trace_idle_seconds": 0.2, "conversation_idle_seconds": 0.2})
    yield exp
    exp.stop()


@pytest.fixture(scope="session")
def live_prometheus(tmp_path_factory):
    stack = LiveStack(tmp_path_factory.mktemp("live"))
    yield stack
    stack.stop()
