"""The project's deterministic fake LLM providers and a recording OTLP receiver, for captures and tests.

>>> from fakes import FakeProviders, OtlpRecorder, expected_figures   # with tests/ on sys.path

Rules for tokens and replies: `fakes.rules`. The response log: `fakes.served`.
"""

from .expected import expected_figures
from .receiver import OtlpRecorder
from .server import FakeProviders

__all__ = ["FakeProviders", "OtlpRecorder", "expected_figures"]
