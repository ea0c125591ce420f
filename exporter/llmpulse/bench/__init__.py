"""`llmpulse bench`: llmpulse measured side by side with the floor and the in-process alternative.

Modules: payloads (request bodies), server (the exporter in a child process),
ingest (OTLP/HTTP throughput, the floor, latency), otel_sdk (the
OpenTelemetry SDK baseline), scrape (cost per exposed line, memory per label
set), growth (label-set growth, cardinality attack), run (all of it, the table).
"""
