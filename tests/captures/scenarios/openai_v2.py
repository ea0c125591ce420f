"""OTel contrib opentelemetry-instrumentation-openai-v2 on the openai client: the plain-client parts."""

import openai
from _common import openai_parts, sdk_logger_provider, sdk_meter_provider, sdk_tracer_provider, shutdown, write_parts
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

tp, lp, mp = sdk_tracer_provider(), sdk_logger_provider(), sdk_meter_provider()
OpenAIInstrumentor().instrument(tracer_provider=tp, logger_provider=lp, meter_provider=mp)
openai_parts(openai.OpenAI(max_retries=0))
shutdown(tp, lp, mp)
write_parts()
