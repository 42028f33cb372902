#!/usr/bin/env python3
"""Sends a known workload to a collector's /v1/traces through the real OpenTelemetry Python SDK and its
OTLP/HTTP exporter (protobuf by default; OTEL_EXPORTER_OTLP_PROTOCOL=http/json is not supported by this SDK).

    pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
    python3 scripts/otlp_python_export.py http://127.0.0.1:7070 <license-key> [service-name]

The workload (times chosen, not measured, so the answers are known): four GET /orders/{id} requests of 0.3 s
(with a 0.1 s query and a 0.05 s call to payments.example), 0.2 s, 0.7 s and 2.5 s (failing with an
exception), and one 0.2 s consumer span "process payment". At T = 0.5 s: S 2, T 1, F 1.
"""
import sys
import time

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

url, key = sys.argv[1], sys.argv[2]
service = sys.argv[3] if len(sys.argv) > 3 else "python-shop"
provider = TracerProvider(resource=Resource.create({"service.name": service}))
exporter = OTLPSpanExporter(endpoint=url.rstrip("/") + "/v1/traces", headers={"x-apm-license-key": key})
# The batch processor, as `opentelemetry-instrument` uses: a request's spans are exported together.
provider.add_span_processor(BatchSpanProcessor(exporter))
tracer = provider.get_tracer("swift-apm.otlp-check")

second = 1_000_000_000
start = (time.time_ns() // (60 * second) - 2) * 60 * second + second  # two minutes ago, one second in
route = {"http.request.method": "GET", "http.route": "/orders/{id}", "url.path": "/orders/7"}


def server(offset, seconds, failing=False, children=()):
    begin = start + int(offset * second)
    span = tracer.start_span("GET /orders/{id}", kind=SpanKind.SERVER, start_time=begin, attributes=route)
    context = set_span_in_context(span)
    for name, kind, child_offset, child_seconds, attributes in children:
        child_begin = begin + int(child_offset * second)
        child = tracer.start_span(name, context=context, kind=kind, start_time=child_begin, attributes=attributes)
        child.end(end_time=child_begin + int(child_seconds * second))
    if failing:
        span.set_attribute("http.response.status_code", 500)
        span.record_exception(LookupError("no order 7"))
        span.set_status(Status(StatusCode.ERROR))
    else:
        span.set_attribute("http.response.status_code", 200)
    span.end(end_time=begin + int(seconds * second))


server(0, 0.3, children=[
    ("SELECT shop", SpanKind.CLIENT, 0.05, 0.1,
     {"db.system.name": "postgresql", "db.query.text": "SELECT * FROM orders WHERE id = 42"}),
    ("GET", SpanKind.CLIENT, 0.2, 0.05,
     {"http.request.method": "GET", "server.address": "payments.example",
      "url.full": "https://payments.example/charge?card=4111"}),
])
server(1, 0.2)
server(2, 0.7)
server(3, 2.5, failing=True)
consumer = tracer.start_span("process payment", kind=SpanKind.CONSUMER, start_time=start + 4 * second)
consumer.end(end_time=start + 4 * second + int(0.2 * second))
provider.shutdown()
print("sent", service)
