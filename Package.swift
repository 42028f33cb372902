// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    // A warning fails the build (here and in CI); SwiftPM ignores this for packages built as a dependency, so
    // an app that adds the agent is never broken by a newer compiler's warnings.
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "swift-apm",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "APMCore", targets: ["APMCore"]),
        .library(name: "APMAgent", targets: ["APMAgent"]),
        .library(name: "APMTesting", targets: ["APMTesting"]),
        .library(name: "APMStorage", targets: ["APMStorage"]),
        .library(name: "APMSQLite", targets: ["APMSQLite"]),
        .library(name: "APMPostgres", targets: ["APMPostgres"]),
        .library(name: "APMCollector", targets: ["APMCollector"]),
        .executable(name: "apm", targets: ["apm"]),
        .executable(name: "apm-example-service", targets: ["apm-example-service"]),
    ],
    // An app that adds only the agent resolves only the agent's dependencies (swift-distributed-tracing,
    // swift-log, swift-service-lifecycle and theirs) when it disables the default trait:
    //   .package(url: "https://github.com/swift-apm/swift-apm.git", from: "0.1.0", traits: [])
    // Everything else (the collector, its storage and HTTP server, the `apm` command, the example service and the
    // tests) is used only under the `Collector` trait, on by default, so that `swift run apm demo` and
    // `swift test` stay one command each. `Tests/resolved-agent-dependencies.txt` lists what the agent resolves;
    // a test fails when that grows.
    traits: [
        .trait(name: "Collector", description: "The collector, the apm command, the example service and the tests."),
        .default(enabledTraits: ["Collector"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // The example service (and the tracing integration tests): a real Hummingbird app calling out with
        // AsyncHTTPClient.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // The collector's connection deadlines sit in the HTTP pipeline (NIOHTTPTypes' request and response parts).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // The PostgreSQL backend (`storage = postgresql`): several collectors on one database.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Test-only: the dashboard's browser tests drive headless Chromium over the DevTools protocol (WebSocket).
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
    ],
    targets: [
        // zlib from the system (Debian: zlib1g-dev): gzip for the wire format without a package dependency.
        .systemLibrary(
            name: "CAPMZlib",
            path: "Sources/CAPMZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libcurl from the system (Debian: libcurl4-openssl-dev, which FoundationNetworking needs anyway): declared
        // with pkg-config and its apt package, so that SwiftPM prints the install line when it is missing.
        .systemLibrary(
            name: "CAPMLibcurl",
            path: "Sources/CAPMLibcurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // libcurl's SMTP client for alert mail, behind one C function.
        .target(
            name: "CAPMCurl",
            dependencies: [.target(name: "CAPMLibcurl", condition: .when(traits: ["Collector"]))],
            path: "Sources/CAPMCurl"
        ),
        .target(
            name: "APMCore",
            dependencies: ["CAPMZlib"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "APMAgent",
            dependencies: [
                "APMCore",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fakes for tests of the agent and of apps that use it: a manual clock, an in-memory collector.
        .target(
            name: "APMTesting",
            dependencies: ["APMAgent", "APMCore"],
            swiftSettings: swiftSettings
        ),
        // Helpers for this repository's own tests (real binaries, loopback ports, heavy tests taking turns): not
        // a product, so apps that test with APMTesting never get them.
        .target(
            name: "APMTestSupport",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/APMTestSupport",
            swiftSettings: swiftSettings
        ),
        // The one in-process collector harness of the collector and `apm` command tests.
        .target(
            name: "APMCollectorTestSupport",
            dependencies: [
                "APMCollector",
                "APMStorage",
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/APMCollectorTestSupport",
            swiftSettings: swiftSettings
        ),
        // Storage behind one protocol in roles, with the backend-neutral ingest rules and models.
        .target(
            name: "APMStorage",
            dependencies: [
                "APMCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Storage on SQLite (GRDB, WAL): the embedded default, one collector.
        .target(
            name: "APMSQLite",
            dependencies: [
                "APMCore",
                "APMStorage",
                .product(name: "GRDB", package: "GRDB.swift", condition: .when(traits: ["Collector"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Storage on PostgreSQL (postgres-nio), for several collectors sharing one database.
        .target(
            name: "APMPostgres",
            dependencies: [
                "APMCore",
                "APMStorage",
                // migrate-storage reads and writes SQLite stores.
                "APMSQLite",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Collector"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Collector"])),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["Collector"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The collector: ingest, aggregation, queries, JSON API, dashboard.
        .target(
            name: "APMCollector",
            dependencies: [
                "APMCore",
                "APMStorage",
                .target(name: "CAPMCurl", condition: .when(traits: ["Collector"])),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "HummingbirdCore", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras", condition: .when(traits: ["Collector"])),
                .product(
                    name: "NIOHTTPTypesHTTP1",
                    package: "swift-nio-extras",
                    condition: .when(traits: ["Collector"])
                ),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Collector"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["Collector"])),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus", condition: .when(traits: ["Collector"])),
                .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["Collector"])),
                .product(name: "_CryptoExtras", package: "swift-crypto", condition: .when(traits: ["Collector"])),
                // Alert notifications: webhooks and Slack.
                .product(
                    name: "AsyncHTTPClient",
                    package: "async-http-client",
                    condition: .when(traits: ["Collector"])
                ),
            ],
            swiftSettings: swiftSettings
        ),
        // The example service the demo and the end-to-end test run (`apm example-service`).
        .target(
            name: "APMExample",
            dependencies: [
                "APMAgent",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(
                    name: "AsyncHTTPClient",
                    package: "async-http-client",
                    condition: .when(traits: ["Collector"])
                ),
                .product(name: "GRDB", package: "GRDB.swift", condition: .when(traits: ["Collector"])),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `apm` command's verbs, as a library so the executable stays thin and tests can call them.
        .target(
            name: "APMCommands",
            dependencies: [
                "APMCore",
                "APMExample",
                "APMAgent",
                "APMCollector",
                "APMStorage",
                "APMSQLite",
                "APMPostgres",
                // The demo's local webhook receiver, which prints the alert notifications.
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Collector"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Collector"])),
                .product(
                    name: "ArgumentParser",
                    package: "swift-argument-parser",
                    condition: .when(traits: ["Collector"])
                ),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "apm",
            dependencies: ["APMCommands"],
            swiftSettings: swiftSettings
        ),
        // The example service on its own (`apm example-service` is the same).
        .executableTarget(
            name: "apm-example-service",
            dependencies: ["APMCommands"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APMCoreTests",
            dependencies: ["APMCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APMAgentTests",
            dependencies: [
                "APMAgent",
                "APMCore",
                "APMTesting",
                "APMTestSupport",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(
                    name: "AsyncHTTPClient",
                    package: "async-http-client",
                    condition: .when(traits: ["Collector"])
                ),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Collector"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Collector"])),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APMCollectorTests",
            dependencies: [
                "APMCollector",
                // Built so that tests can run the real binary (SIGKILL and restart).
                "apm",
                "APMStorage",
                "APMSQLite",
                "APMCore",
                "APMAgent",
                "APMTesting",
                "APMTestSupport",
                "APMCollectorTestSupport",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["Collector"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Collector"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Collector"])),
                .product(name: "WSClient", package: "swift-websocket", condition: .when(traits: ["Collector"])),
                .product(name: "NIOWebSocket", package: "swift-nio", condition: .when(traits: ["Collector"])),
                // Storage tests reach under the store (rows written as an older version left them).
                .product(name: "GRDB", package: "GRDB.swift", condition: .when(traits: ["Collector"])),
                // The conformance suite runs against PostgreSQL too (a database per test).
                "APMPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Collector"])),
            ],
            // Read by path (#filePath), not as bundle resources.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APMCommandsTests",
            dependencies: [
                // Built so that the tests run the real `apm` binary.
                "apm",
                "APMCommands",
                "APMCollector",
                "APMStorage",
                "APMSQLite",
                "APMCore",
                "APMAgent",
                "APMTesting",
                "APMTestSupport",
                "APMCollectorTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
