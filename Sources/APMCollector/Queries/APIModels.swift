public import APMCore
public import APMStorage

/// Apdex counts, score and the T they were measured against.
public struct APIApdex: Codable, Sendable, Hashable {
    /// Satisfied transactions.
    public var satisfied: UInt64
    /// Tolerating transactions.
    public var tolerating: UInt64
    /// Frustrated transactions.
    public var frustrated: UInt64
    /// `(S + T/2) / total`, `nil` without transactions.
    public var score: Double?
    /// The app's T in seconds.
    public var t: Double
    /// `true` when every transaction counted was classified at `t` when it was recorded. `false` when some were
    /// classified at another T (an agent that had not heard the collector's T yet, data from before a change of
    /// T) and were classified again at `t` from their latency histograms: the counts are then the best estimate,
    /// and the score lies between ``scoreMin`` and ``scoreMax``.
    public var exact: Bool
    /// The lowest score the data allows (the score itself when exact).
    public var scoreMin: Double?
    /// The highest score the data allows (the score itself when exact).
    public var scoreMax: Double?
    /// Transactions classified again from histograms.
    public var reclassified: UInt64

    /// Creates a value from counts classified at `t`.
    ///
    /// - Parameters:
    ///   - counts: The counts.
    ///   - t: The T.
    public init(_ counts: ApdexCounts, t: Double) {
        self.satisfied = counts.satisfied
        self.tolerating = counts.tolerating
        self.frustrated = counts.frustrated
        self.score = counts.score
        self.t = t
        self.exact = true
        self.scoreMin = counts.score
        self.scoreMax = counts.score
        self.reclassified = 0
    }

    enum CodingKeys: String, CodingKey {
        case satisfied, tolerating, frustrated, score, t, exact
        case scoreMin = "score_min"
        case scoreMax = "score_max"
        case reclassified
    }
}

/// Average time per request by category, in seconds.
public struct APIBreakdown: Codable, Sendable, Hashable {
    /// Database time per request.
    public var database: Double
    /// External time per request.
    public var external: Double
    /// Application time per request.
    public var application: Double

    /// Creates a breakdown.
    ///
    /// - Parameters:
    ///   - database: Seconds.
    ///   - external: Seconds.
    ///   - application: Seconds.
    public init(database: Double, external: Double, application: Double) {
        self.database = database
        self.external = external
        self.application = application
    }
}

/// Figures for a range or a bucket.
public struct APIFigures: Codable, Sendable, Hashable {
    /// Start (Unix seconds).
    public var start: Int64
    /// Length in seconds.
    public var seconds: Int64
    /// Transactions.
    public var count: UInt64
    /// Requests per minute.
    public var rpm: Double
    /// Average duration (seconds), `nil` without transactions.
    public var average: Double?
    /// Median (seconds, within 1 %).
    public var p50: Double?
    /// 95th percentile.
    public var p95: Double?
    /// 99th percentile.
    public var p99: Double?
    /// Shortest duration.
    public var min: Double?
    /// Longest duration.
    public var max: Double?
    /// Failed transactions.
    public var errors: UInt64
    /// errors / count, `nil` without transactions.
    public var errorRate: Double?
    /// Apdex.
    public var apdex: APIApdex
    /// Time per request by category.
    public var breakdown: APIBreakdown

    enum CodingKeys: String, CodingKey {
        case start, seconds, count, rpm, average, p50, p95, p99, min, max, errors
        case errorRate = "error_rate"
        case apdex, breakdown
    }

    /// Computes the figures of slices merged together.
    ///
    /// - Parameters:
    ///   - slices: The slices.
    ///   - start: The range's start.
    ///   - seconds: The range's length.
    ///   - t: The app's T, reported with the Apdex.
    public init(merging slices: [TransactionSlice], start: Int64, seconds: Int64, t: Double) {
        var count: UInt64 = 0
        var errors: UInt64 = 0
        var apdex = ApdexCounts()
        var total = 0.0
        var database = 0.0
        var external = 0.0
        var minimum = Double.infinity
        var maximum = 0.0
        var histogram = LatencyHistogram()
        for slice in slices where slice.count > 0 {
            count += slice.count
            errors += slice.errors
            apdex.add(slice.apdex)
            total += slice.total
            database += slice.breakdown.database
            external += slice.breakdown.external
            minimum = Swift.min(minimum, slice.min)
            maximum = Swift.max(maximum, slice.max)
            histogram.merge(slice.histogram)
        }
        self.start = start
        self.seconds = seconds
        self.count = count
        self.rpm = seconds > 0 ? Double(count) / (Double(seconds) / 60) : 0
        self.average = count > 0 ? total / Double(count) : nil
        // Percentiles are clamped into [min, max], which are exact.
        func quantile(_ q: Double) -> Double? {
            histogram.value(atQuantile: q).map { Swift.min(Swift.max($0, minimum), maximum) }
        }
        self.p50 = quantile(0.5)
        self.p95 = quantile(0.95)
        self.p99 = quantile(0.99)
        self.min = count > 0 ? minimum : nil
        self.max = count > 0 ? maximum : nil
        self.errors = errors
        self.errorRate = count > 0 ? Double(errors) / Double(count) : nil
        self.apdex = APIApdex(apdex, t: t)
        let perRequest = count > 0 ? 1 / Double(count) : 0
        self.breakdown = APIBreakdown(
            database: database * perRequest,
            external: external * perRequest,
            application: Swift.max(0, total - database - external) * perRequest
        )
    }
}

/// A deployment marker.
public struct APIDeployment: Codable, Sendable, Hashable {
    /// Id.
    public var id: Int64
    /// When (Unix seconds).
    public var at: Double
    /// Revision.
    public var revision: String
    /// Description.
    public var description: String
    /// Who.
    public var user: String

    /// Creates a marker.
    ///
    /// - Parameter deployment: The stored deployment.
    public init(_ deployment: Deployment) {
        self.id = deployment.id
        self.at = deployment.at
        self.revision = deployment.revision
        self.description = deployment.description
        self.user = deployment.user
    }
}

/// A time series.
public struct APISeries: Codable, Sendable, Hashable {
    /// Range start (Unix seconds, aligned to the bucket size).
    public var from: Int64
    /// Range end (exclusive).
    public var to: Int64
    /// Bucket length in seconds.
    public var bucketSeconds: Int64
    /// `minute` or `hour`: the stored rows the buckets were built from.
    public var resolution: String
    /// The transaction, or `nil` for the whole app.
    public var transaction: String?
    /// One entry per bucket, empty buckets included.
    public var points: [APIFigures]
    /// Deployments in the range.
    public var deployments: [APIDeployment]

    enum CodingKeys: String, CodingKey {
        case from, to
        case bucketSeconds = "bucket_seconds"
        case resolution, transaction, points, deployments
    }
}

/// One app in the apps list.
public struct APIAppSummary: Codable, Sendable, Hashable {
    /// The app's id.
    public var id: Int64
    /// The app's name.
    public var name: String
    /// The agent's language.
    public var language: String
    /// Last report (Unix seconds).
    public var lastSeenAt: Double
    /// Figures over the range (web transactions).
    public var summary: APIFigures
    /// Requests per minute per bucket, for a sparkline.
    public var sparkline: [Double]
    /// Warnings: names overflowing the cap, data dropped by agents, agent offline.
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case id, name, language
        case lastSeenAt = "last_seen_at"
        case summary, sparkline, warnings
    }
}

/// One transaction in a top list.
public struct APITransactionRow: Codable, Sendable, Hashable {
    /// The name.
    public var name: String
    /// `web` or `background`.
    public var kind: String
    /// Figures over the range.
    public var figures: APIFigures
    /// Total time consumed (seconds): count × average.
    public var timeConsumed: Double
    /// Share of the app's time consumed (0...1).
    public var share: Double

    enum CodingKeys: String, CodingKey {
        case name, kind, figures
        case timeConsumed = "time_consumed"
        case share
    }
}

/// Apdex for any T over a past range.
public struct APIWhatIfApdex: Codable, Sendable, Hashable {
    /// The T asked for (seconds).
    public var t: Double
    /// The app's (or transaction's) configured T.
    public var configuredT: Double
    /// Satisfied, best estimate.
    public var satisfied: UInt64
    /// Tolerating, best estimate.
    public var tolerating: UInt64
    /// Frustrated, best estimate.
    public var frustrated: UInt64
    /// The score from the best estimate.
    public var score: Double?
    /// The lowest score consistent with the histograms.
    public var scoreMin: Double?
    /// The highest score consistent with the histograms.
    public var scoreMax: Double?
    /// Transactions whose durations are too close to T or 4T to classify from histograms.
    public var uncertain: UInt64
    /// Whether the answer is exact (every row was classified at this T at ingest).
    public var exact: Bool
    /// How precise the answer is.
    public var resolution: String

    enum CodingKeys: String, CodingKey {
        case t
        case configuredT = "configured_t"
        case satisfied, tolerating, frustrated, score
        case scoreMin = "score_min"
        case scoreMax = "score_max"
        case uncertain, exact, resolution
    }
}

/// A database operation.
public struct APIDatabaseRow: Codable, Sendable, Hashable {
    /// Segment name, e.g. `Postgres SELECT users`.
    public var name: String
    /// Datastore system.
    public var system: String
    /// Operation.
    public var operation: String
    /// Table.
    public var table: String
    /// Calls.
    public var calls: UInt64
    /// Average call (seconds).
    public var average: Double
    /// Total time (seconds).
    public var totalTime: Double
    /// Slowest call (seconds).
    public var max: Double
    /// The statement of the slowest traced call in the range, obfuscated; empty when none was traced.
    public var slowestStatement: String

    enum CodingKeys: String, CodingKey {
        case name, system, operation, table, calls, average
        case totalTime = "total_time"
        case max
        case slowestStatement = "slowest_statement"
    }
}

/// An external host.
public struct APIExternalRow: Codable, Sendable, Hashable {
    /// The host.
    public var host: String
    /// Calls.
    public var calls: UInt64
    /// Failed calls.
    public var errors: UInt64
    /// Average call (seconds).
    public var average: Double
    /// Total time (seconds).
    public var totalTime: Double
    /// Slowest call (seconds).
    public var max: Double

    enum CodingKeys: String, CodingKey {
        case host, calls, errors, average
        case totalTime = "total_time"
        case max
    }
}

/// An error group.
public struct APIErrorGroup: Codable, Sendable, Hashable {
    /// Id.
    public var id: Int64
    /// Error type.
    public var type: String
    /// Normalised message.
    public var message: String
    /// Transaction of the latest sample.
    public var transaction: String
    /// Samples in the range.
    public var count: UInt64
    /// First occurrence (Unix seconds).
    public var firstSeen: Double
    /// Last occurrence (Unix seconds).
    public var lastSeen: Double
    /// The latest sample.
    public var sample: ErrorSample
    /// Samples per bucket.
    public var sparkline: [UInt64]

    enum CodingKeys: String, CodingKey {
        case id, type, message, transaction, count
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case sample, sparkline
    }
}

/// A trace in a list.
public struct APITraceSummary: Codable, Sendable, Hashable {
    /// Row id (for `/traces/{id}`).
    public var id: Int64
    /// W3C trace id.
    public var traceID: String
    /// Transaction.
    public var transaction: String
    /// Start (Unix seconds).
    public var start: Double
    /// Duration (seconds).
    public var duration: Double
    /// HTTP status.
    public var status: Int
    /// Whether it failed.
    public var error: Bool

    enum CodingKeys: String, CodingKey {
        case id
        case traceID = "trace_id"
        case transaction, start, duration, status, error
    }
}

/// The app overview: everything the dashboard's overview page shows.
public struct APIOverview: Codable, Sendable, Hashable {
    /// The app.
    public var app: APIAppSummary
    /// Web transaction series.
    public var series: APISeries
    /// Top transactions by time consumed.
    public var transactions: [APITransactionRow]
    /// Per-transaction Ts.
    public var transactionApdexT: [String: Double]

    enum CodingKeys: String, CodingKey {
        case app, series, transactions
        case transactionApdexT = "transaction_apdex_t"
    }
}

/// Process metrics of an app.
public struct ProcessMetricsResponse: Codable, Sendable {
    /// Resources per minute.
    public var samples: [ProcessSlice]
    /// Start, exit and crash events.
    public var events: [StoredProcessEvent]

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - samples: Samples.
    ///   - events: Events.
    public init(samples: [ProcessSlice], events: [StoredProcessEvent]) {
        self.samples = samples
        self.events = events
    }
}

/// `GET /api/v1/apps`: one page of apps, by name.
public struct APIAppList: Codable, Sendable {
    /// The apps of this page.
    public var apps: [APIAppSummary]
    /// Apps in the account, in all.
    public var total: Int
    /// Apps skipped before this page.
    public var offset: Int
    /// The page's size.
    public var limit: Int

    /// Creates a page.
    ///
    /// - Parameters:
    ///   - apps: The page's apps.
    ///   - total: Apps in all.
    ///   - offset: Apps skipped.
    ///   - limit: The page's size.
    public init(apps: [APIAppSummary], total: Int, offset: Int, limit: Int) {
        self.apps = apps
        self.total = total
        self.offset = offset
        self.limit = limit
    }
}
