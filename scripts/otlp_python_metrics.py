#!/usr/bin/env python3
"""Exports a known metrics workload through the real OpenTelemetry Python SDK and its OTLP/HTTP exporter
(protobuf), the SDK's default cumulative temporality, to a collector's /v1/metrics, or to a file.

    pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
    python3 scripts/otlp_python_metrics.py http://127.0.0.1:7070 <license-key>       (to a collector)
    python3 scripts/otlp_python_metrics.py --capture DIRECTORY                       (each export's body to a file)

The workload, exported twice (the second export after more recordings), so that the answers are known:
  orders.placed      a Counter, +5 then +7 (attributes region=eu), cumulative: 5, then 12
  queue.depth        an UpDownCounter, +4 then -1: a level, 4 then 3
  order.duration     a Histogram (s), 0.05, 0.2, 0.2 then 0.7, 3.0 (default explicit buckets)
  pool.size          an ObservableGauge: 10 then 12
"""
import http.server
import pathlib
import sys
import threading

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.metrics import Observation

capture = sys.argv[1] == "--capture"
if capture:
    directory = pathlib.Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    bodies = []

    class Capture(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            bodies.append(body)
            (directory / f"export-{len(bodies)}.binpb").write_bytes(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url, key = f"http://127.0.0.1:{server.server_port}", "capture"
else:
    url, key = sys.argv[1], sys.argv[2]

exporter = OTLPMetricExporter(endpoint=url.rstrip("/") + "/v1/metrics", headers={"x-apm-license-key": key})
# Exports happen when asked (force_flush), not on a timer: the interval is longer than the run.
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
provider = MeterProvider(
    resource=Resource.create({"service.name": "python-metrics", "host.name": "py-host"}), metric_readers=[reader]
)
meter = provider.get_meter("swift-apm.otlp-check")
orders = meter.create_counter("orders.placed", unit="{order}")
queue = meter.create_up_down_counter("queue.depth")
duration = meter.create_histogram("order.duration", unit="s")
pool = [10]
meter.create_observable_gauge("pool.size", callbacks=[lambda options: [Observation(pool[0])]])

orders.add(5, {"region": "eu"})
queue.add(4)
for value in (0.05, 0.2, 0.2):
    duration.record(value)
provider.force_flush()

orders.add(7, {"region": "eu"})
queue.add(-1)
for value in (0.7, 3.0):
    duration.record(value)
pool[0] = 12
provider.force_flush()
provider.shutdown()
