"""OpenLIT's SDK (openlit.init) on the openai client: the plain-client parts. OpenLIT also sends OTLP metrics."""

import openai
import openlit
from _common import OTLP, SERVICE, openai_parts, write_parts

openlit.init(otlp_endpoint=OTLP, application_name=SERVICE, environment="capture", disable_batch=True)
openai_parts(openai.OpenAI(max_retries=0))
from opentelemetry import metrics, trace  # noqa: E402

trace.get_tracer_provider().force_flush()
mp = metrics.get_meter_provider()
if hasattr(mp, "force_flush"):
    mp.force_flush()
write_parts()
