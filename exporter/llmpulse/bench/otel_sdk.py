"""CPU per LLM call: llmpulse (span -> every metric) against the OpenTelemetry SDK metrics API in-process.

The SDK side records the same instruments with the same attributes that
llmpulse derives for each call, as an in-app instrumentation would
(OpenLIT, OpenLLMetry): duration and token histograms, token, cost, finish
reason and other counters, the deployment gauge.

>>> from llmpulse.records import Call
>>> sdk = OtelRecorder()
>>> sdk.record([Call(trace_id="a" * 32, span_id="b" * 16, service="s", provider="openai",
...                  request_model="m", start_ns=1, end_ns=2, input_tokens=3, output_tokens=4)])
>>> sdk.points() > 0
True
"""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmpulse.records import Call


class OtelRecorder:
    def __init__(self):
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        m = self.provider.get_meter("llmpulse.bench")
        self.duration = m.create_histogram("gen_ai.client.operation.duration", unit="s")
        self.token_usage = m.create_histogram("gen_ai.client.token.usage", unit="{token}")
        self.ttfc = m.create_histogram("gen_ai.client.operation.time_to_first_chunk", unit="s")
        self.tpoc = m.create_histogram("gen_ai.client.operation.time_per_output_chunk", unit="s")
        self.tokens = m.create_counter("llm.tokens")
        self.cost = m.create_counter("llm.cost", unit="USD")
        self.request_cost = m.create_histogram("llm.request.cost", unit="USD")
        self.unpriced = m.create_counter("llm.unpriced_operations")
        self.finish = m.create_counter("llm.finish_reasons")
        self.tool_calls = m.create_counter("llm.tool_calls")
        self.deployment = m.create_gauge("llm.deployment_info")
        self.received = m.create_counter("llmpulse.spans_received")

    def record(self, calls: list[Call]) -> None:
        for c in calls:
            base = {"service_name": c.service, "gen_ai_operation_name": c.operation,
                    "gen_ai_provider_name": c.provider, "gen_ai_request_model": c.request_model}
            error = c.error_type
            self.received.add(1, {"dialect": c.dialect})
            self.duration.record(c.duration_s, {**base, "gen_ai_response_model": c.response_model,
                                                "error_type": error})
            for kind, n in (("input", c.input_tokens), ("output", c.output_tokens)):
                if n is not None:
                    attrs = {**base, "gen_ai_token_type": kind}
                    self.token_usage.record(n, attrs)
                    self.tokens.add(n, attrs)
            for kind, n in (("cache_read", c.cache_read_tokens), ("cache_write", c.cache_write_tokens),
                            ("reasoning", c.reasoning_tokens)):
                if n:
                    self.tokens.add(n, {**base, "gen_ai_token_type": kind})
            if c.streaming and c.ttft_s is not None and not error:
                self.ttfc.record(c.ttft_s, base)
                if c.tpot_s is not None:
                    self.tpoc.record(c.tpot_s, base)
            if c.cost_usd is not None:
                self.cost.add(c.cost_usd, base)
                self.request_cost.record(c.cost_usd, base)
            elif c.is_llm and ((c.input_tokens or 0) + (c.output_tokens or 0)) > 0:
                self.unpriced.add(1, base)
            for r in c.finish_reasons:
                self.finish.add(1, {**base, "gen_ai_response_finish_reason": r})
            if c.operation == "execute_tool":
                self.tool_calls.add(1, {"service_name": c.service, "gen_ai_tool_name": c.tool_name or "unknown",
                                        "error_type": error})
            self.deployment.set(1, {**base, "service_version": c.service_version,
                                    "prompt_version": c.prompt_version})

    def points(self) -> int:
        data = self.reader.get_metrics_data()
        if data is None:
            return 0
        n = 0
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    n += len(m.data.data_points)
        return n
