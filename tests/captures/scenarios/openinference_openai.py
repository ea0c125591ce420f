"""OpenInference openinference-instrumentation-openai on the openai client: the plain-client parts."""

import openai
from _common import openai_parts, sdk_tracer_provider, shutdown, write_parts
from openinference.instrumentation.openai import OpenAIInstrumentor

tp = sdk_tracer_provider()
OpenAIInstrumentor().instrument(tracer_provider=tp)
openai_parts(openai.OpenAI(max_retries=0))
shutdown(tp)
write_parts()
