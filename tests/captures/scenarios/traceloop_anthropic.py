"""OpenLLMetry (traceloop-sdk) on the anthropic 2.16 client, whose own built-in tracing is also on (its default):
the same call reported by two instrumentations."""

import anthropic
from _common import anthropic_parts, traceloop_init, write_parts

traceloop_init()
anthropic_parts(anthropic.Anthropic(max_retries=0))
from opentelemetry import trace  # noqa: E402

trace.get_tracer_provider().force_flush()
write_parts()
