#!/usr/bin/env python3
"""Sends a known set of log records to a collector's /v1/logs through the real OpenTelemetry Python SDK: Python's
logging module bridged by the SDK's LoggingHandler, exported by its OTLP/HTTP exporter (protobuf).

    pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
    python3 scripts/otlp_python_logs.py http://127.0.0.1:7070 <license-key> [service-name]

The records (with a fixed trace for the request's lines, so the answers are known):
  INFO     "starting worker 7"                       no trace
  INFO     "GET /orders/7 received"                  trace 4bf92f3577b34da6a3ce929d0e0e4736, span 00f067aa0ba902b7
  WARNING  "slow query on orders took 812 ms"        same trace
  ERROR    "payment declined for order 7"            same trace, attribute order.id = 7
  DEBUG    "cache miss"                              (below the logger's INFO level: never sent)
  CRITICAL "password=hunter2 leaked in config dump"  no trace (the collector replaces the secret)
"""
import logging
import sys

from opentelemetry import trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

url, key = sys.argv[1], sys.argv[2]
service = sys.argv[3] if len(sys.argv) > 3 else "python-shop"
provider = LoggerProvider(resource=Resource.create({"service.name": service, "host.name": "py-host"}))
set_logger_provider(provider)
exporter = OTLPLogExporter(endpoint=url.rstrip("/") + "/v1/logs", headers={"x-apm-license-key": key})
provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
logger = logging.getLogger("shop")
logger.setLevel(logging.INFO)
logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))

logger.info("starting worker 7")
context = SpanContext(
    trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
    span_id=0x00F067AA0BA902B7,
    is_remote=False,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)
with trace.use_span(NonRecordingSpan(context)):
    logger.info("GET /orders/7 received")
    logger.warning("slow query on orders took 812 ms")
    logger.error("payment declined for order 7", extra={"order.id": 7})
    logger.debug("cache miss")
logger.critical("password=hunter2 leaked in config dump")
provider.shutdown()
