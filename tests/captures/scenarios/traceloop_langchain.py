"""OpenLLMetry (traceloop-sdk) with LangChain/LangGraph over ChatOpenAI (its openai instrumentation is on too)."""

from _common import langchain_parts, traceloop_init, write_parts

traceloop_init()
langchain_parts()
from opentelemetry import trace  # noqa: E402

trace.get_tracer_provider().force_flush()
write_parts()
