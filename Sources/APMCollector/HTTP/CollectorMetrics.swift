import Prometheus
import Synchronization

/// The collector's own health figures, exposed at `/metrics` in Prometheus text format.
final class CollectorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let accepted: Counter
    let duplicates: Counter
    let ingestLatency: DurationHistogram
    let storeLatency: DurationHistogram
    let transactionsIngested: Counter
    let fileSize: Gauge
    let pendingSpans: Gauge
    let unmatchedSpans: Counter
    private let rejectedCounters = Mutex<[String: Counter]>([:])
    private let rowGauges = Mutex<[String: Gauge]>([:])
    private let appGauges = Mutex<[String: [Gauge]]>([:])

    init() {
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        accepted = registry.makeCounter(descriptor: Self.descriptor("apm_batches_accepted_total", "Batches committed"))
        duplicates = registry.makeCounter(
            descriptor: Self.descriptor(
                "apm_batches_duplicate_total",
                "Batches already committed, acknowledged again without counting"
            )
        )
        ingestLatency = registry.makeDurationHistogram(
            descriptor: Self.descriptor("apm_ingest_duration_seconds", "Time from request to durable commit"),
            buckets: buckets
        )
        storeLatency = registry.makeDurationHistogram(
            descriptor: Self.descriptor("apm_store_commit_duration_seconds", "Time in the store's commit"),
            buckets: buckets
        )
        transactionsIngested = registry.makeCounter(
            descriptor: Self.descriptor(
                "apm_transactions_ingested_total",
                "Transactions represented by committed batches"
            )
        )
        fileSize = registry.makeGauge(
            descriptor: Self.descriptor("apm_store_file_bytes", "Size of the database and its write-ahead log")
        )
        pendingSpans = registry.makeGauge(
            descriptor: Self.descriptor(
                "apm_otlp_spans_pending",
                "OTLP spans waiting for the rest of their trace (otlp_trace_wait)"
            )
        )
        unmatchedSpans = registry.makeCounter(
            descriptor: Self.descriptor(
                "apm_otlp_spans_unmatched_total",
                "OTLP spans not counted: their transaction did not arrive within otlp_trace_wait"
            )
        )
    }

    /// A metric's name as one piece (the names predate swift-prometheus's namespace/unit descriptors).
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func rejected(reason: String) {
        let counter = rejectedCounters.withLock { counters in
            if let counter = counters[reason] { return counter }
            let counter = registry.makeCounter(
                descriptor: Self.descriptor("apm_batches_rejected_total", "Batches rejected, by reason"),
                labels: [("reason", reason)]
            )
            counters[reason] = counter
            return counter
        }
        counter.increment()
    }

    func setRows(_ rows: [String: Int]) {
        for (table, count) in rows {
            let gauge = rowGauges.withLock { gauges in
                if let gauge = gauges[table] { return gauge }
                let gauge = registry.makeGauge(
                    descriptor: Self.descriptor("apm_store_rows", "Rows per table"),
                    labels: [("table", table)]
                )
                gauges[table] = gauge
                return gauge
            }
            gauge.set(Double(count))
        }
    }

    /// Per-app figures over the last complete minute, one gauge per app and figure (apps, never transactions:
    /// the cardinality is bounded by `max_apps`). A figure without requests is NaN.
    func setAppFigures(_ apps: [AppFigures]) {
        for app in apps {
            let gauges = appGauges.withLock { gauges in
                let key = "\(app.accountID)/\(app.name)"
                if let existing = gauges[key] { return existing }
                let labels = [("account", String(app.accountID)), ("app", app.name)]
                let made = [
                    registry.makeGauge(
                        descriptor: Self.descriptor("apm_app_apdex_score", "Apdex score over the last complete minute"),
                        labels: labels
                    ),
                    registry.makeGauge(
                        descriptor: Self.descriptor(
                            "apm_app_requests_per_minute",
                            "Web requests in the last complete minute"
                        ),
                        labels: labels
                    ),
                    registry.makeGauge(
                        descriptor: Self.descriptor(
                            "apm_app_error_ratio",
                            "Errors per web request over the last complete minute (0 to 1)"
                        ),
                        labels: labels
                    ),
                    registry.makeGauge(
                        descriptor: Self.descriptor(
                            "apm_app_response_time_p95_seconds",
                            "95th percentile response time over the last complete minute"
                        ),
                        labels: labels
                    ),
                ]
                gauges[key] = made
                return made
            }
            gauges[0].set(app.apdex ?? .nan)
            gauges[1].set(app.requestsPerMinute)
            gauges[2].set(app.errorRatio ?? .nan)
            gauges[3].set(app.p95 ?? .nan)
        }
    }

    /// One app's figures for ``setAppFigures(_:)``.
    struct AppFigures {
        var accountID: Int64
        var name: String
        var apdex: Double?
        var requestsPerMinute: Double
        var errorRatio: Double?
        var p95: Double?
    }

    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
