"""anthropic's built-in OpenTelemetry tracing (on by default from 2.16), global SDK tracer provider."""

import anthropic
from _common import anthropic_parts, sdk_tracer_provider, shutdown, write_parts

tp = sdk_tracer_provider()
anthropic_parts(anthropic.Anthropic(max_retries=0))
shutdown(tp)
write_parts()
