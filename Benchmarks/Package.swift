// swift-tools-version:6.1
// Benchmarks live in their own package so that the main build and CI never compile swift-otel or the
// benchmark harness. Run from this folder: `swift package benchmark` (figures in docs/benchmarks.md).
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "swift-apm-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .executableTarget(
            name: "AgentBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "APMAgent", package: root),
                .product(name: "APMTesting", package: root),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/AgentBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Resident memory after many spans and many names: a plain executable that prints a table.
        .executableTarget(
            name: "AgentMemory",
            dependencies: [
                .product(name: "APMAgent", package: root),
                .product(name: "APMTesting", package: root),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/AgentMemory"
        ),
        // The collector's ingest rate and overview query latency: prints a table.
        .executableTarget(
            name: "CollectorBenchmark",
            dependencies: [
                .product(name: "APMCollector", package: root),
                .product(name: "APMStorage", package: root),
                .product(name: "APMSQLite", package: root),
                .product(name: "APMCore", package: root),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CollectorBenchmark"
        ),
        // OTLP ingest with and without keeping spans for their trace: prints a table.
        .executableTarget(
            name: "OTLPBenchmark",
            dependencies: [
                .product(name: "APMCollector", package: root),
                .product(name: "APMCore", package: root),
                .product(name: "APMStorage", package: root),
                .product(name: "APMSQLite", package: root),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/OTLPBenchmark"
        ),
        // Ingest into collector processes (SQLite, PostgreSQL with one and with two collectors) from this process,
        // with CPU per 1,000 batches, and the 7-day overview on both backends: prints a table. Run through
        // Benchmarks/scale-out.sh, which builds the apm binary and starts a throwaway PostgreSQL.
        .executableTarget(
            name: "ScaleOutBenchmark",
            dependencies: [
                .product(name: "APMCollector", package: root),
                .product(name: "APMCore", package: root),
                .product(name: "APMStorage", package: root),
                .product(name: "APMSQLite", package: root),
                .product(name: "APMPostgres", package: root),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ScaleOutBenchmark"
        ),
        // Application logs: durable ingest on SQLite, search over 10 million lines on both backends, the agent's
        // handler against StreamLogHandler: prints a table to stderr. Run through scripts/with-postgres.
        .executableTarget(
            name: "LogBenchmark",
            dependencies: [
                .product(name: "APMAgent", package: root),
                .product(name: "APMTesting", package: root),
                .product(name: "APMCollector", package: root),
                .product(name: "APMCore", package: root),
                .product(name: "APMStorage", package: root),
                .product(name: "APMSQLite", package: root),
                .product(name: "APMPostgres", package: root),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/LogBenchmark"
        ),
        // Server and runtime metrics: durable OTLP metric ingest on both backends, and the hosts answers over 7 days of
        // 20 hosts: prints a table to stderr. Run through scripts/with-postgres.
        .executableTarget(
            name: "MetricBenchmark",
            dependencies: [
                .product(name: "APMCollector", package: root),
                .product(name: "APMCore", package: root),
                .product(name: "APMStorage", package: root),
                .product(name: "APMSQLite", package: root),
                .product(name: "APMPostgres", package: root),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/MetricBenchmark"
        ),
        // Merging stored histograms on PostgreSQL: read-merge-write in Swift against a PL/pgSQL function, on the
        // same upserts, with the results compared: prints a table. Run through scripts/with-postgres.
        .executableTarget(
            name: "HistogramMergeBenchmark",
            dependencies: [
                .product(name: "APMCore", package: root),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/HistogramMergeBenchmark"
        ),
    ]
)
