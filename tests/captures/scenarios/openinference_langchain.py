"""OpenInference openinference-instrumentation-langchain with LangChain/LangGraph over ChatOpenAI."""

from _common import langchain_parts, sdk_tracer_provider, shutdown, write_parts
from openinference.instrumentation.langchain import LangChainInstrumentor

tp = sdk_tracer_provider()
LangChainInstrumentor().instrument(tracer_provider=tp)
langchain_parts()
shutdown(tp)
write_parts()
