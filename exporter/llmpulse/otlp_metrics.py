"""OTLP metrics (`POST /v1/metrics`, gRPC `MetricsService/Export`): accepted, counted, not converted.

OpenLLMetry and OpenLIT export OTLP metrics by default next to their spans. llmpulse builds
every GenAI figure from spans (one call, one count), so it answers these requests with success
- an SDK stops logging an export error every interval - and counts their data points in
`llmpulse_otlp_metric_points_ignored_total`. They are never converted: the same calls arrive as
spans, and a converted `gen_ai.client.token.usage` would count their tokens a second time
(docs/reliability.md, "OTLP metrics"). A body that is not an OTLP metrics request is a 400 /
INVALID_ARGUMENT like any other.

>>> from prometheus_client import CollectorRegistry
>>> m = IgnoredMetrics(CollectorRegistry())
>>> m.accept(b'{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","sum":'
...          b'{"dataPoints":[{"asInt":"1"},{"asInt":"2"}]}}]}]}]}', "application/json")
b'{}'
>>> m.points._value.get()
2.0
"""

from __future__ import annotations

from google.protobuf.message import DecodeError as _PbDecodeError
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from prometheus_client import CollectorRegistry

from llmpulse import otlp
from llmpulse.series import PlainCounter

_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
_PB_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


def count_points(body: bytes, content_type: str) -> int:
    """Data points in an ExportMetricsServiceRequest; `otlp.DecodeError` when it is not one."""
    if otlp.media_type(content_type) == otlp.JSON:
        doc = otlp.loads(body)
        if not isinstance(doc, dict):
            raise otlp.DecodeError("JSON body must be an object")
        n = 0
        try:
            for rm in doc.get("resourceMetrics") or doc.get("resource_metrics") or ():
                for sm in rm.get("scopeMetrics") or rm.get("scope_metrics") or ():
                    for metric in sm.get("metrics") or ():
                        for kind in _KINDS + ("exponential_histogram",):
                            data = metric.get(kind)
                            if isinstance(data, dict):
                                n += len(data.get("dataPoints") or data.get("data_points") or ())
        except (AttributeError, TypeError):
            raise otlp.DecodeError("body is not an OTLP metrics request") from None
        return n
    try:
        req = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
    except (_PbDecodeError, RecursionError) as exc:
        raise otlp.DecodeError(f"body is not a valid OTLP metrics request: {exc}") from None
    n = 0
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                which = metric.WhichOneof("data")
                if which in _PB_KINDS:
                    n += len(getattr(metric, which).data_points)
    return n


def response(content_type: str) -> bytes:
    if otlp.media_type(content_type) == otlp.JSON:
        return b"{}"
    return metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()


class IgnoredMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.points = PlainCounter("llmpulse_otlp_metric_points_ignored",
                              "OTLP metric data points received and not converted (GenAI figures come from spans).",
                              registry=registry)

    def accept(self, body: bytes, content_type: str) -> bytes:
        """Count the request's data points; the success response in its encoding."""
        self.points.inc(count_points(body, content_type))
        return response(content_type)
