import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from llmpulse.app import Exporter  # noqa: E402
from llmpulse.config import load_config  # noqa: E402

LOOPBACK = {"host": "127.0.0.1", "otlp_http_port": 0, "otlp_grpc_port": 0, "metrics_port": 0}


def make_exporter(**overrides) -> Exporter:
    server = {**LOOPBACK, **overrides.pop("server", {})}
    return Exporter(load_config(overrides={"server": server, **overrides})).start()


@pytest.fixture
def exporter():
    exp = make_exporter(tracking={"trace_idle_seconds": 0.2, "conversation_idle_seconds": 0.2})
    yield exp
    exp.stop()
