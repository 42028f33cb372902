import APMAgent
import AsyncHTTPClient
import Foundation
import GRDB
import Hummingbird
public import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import UnixSignals

/// The example service: a Hummingbird 2 app with routes of known latency, a real SQLite database, calls to a
/// second local service through AsyncHTTPClient, a route that fails, and a background job, instrumented
/// through swift-distributed-tracing (TracingMiddleware, AsyncHTTPClient) and the agent's own API.
public struct ExampleService: Sendable {
    /// Where it listens and keeps its database.
    public struct Configuration: Sendable {
        /// The main service's port.
        public var port: Int = 8080
        /// The downstream ("inventory") service's port.
        public var downstreamPort: Int = 8081
        /// The SQLite file.
        public var databasePath: String = "example.sqlite"
        /// Seconds between background jobs.
        public var jobInterval: Double = 5
        /// Where each request's own measured duration is appended (JSON lines), empty for none.
        public var durationLog: String = ""

        /// Creates the default configuration.
        public init() {}
    }

    /// The routes and what they do; the load generator and the end-to-end test rely on these latencies.
    public static let routes: [(path: String, description: String)] = [
        ("/hello", "no work at all: the route the overhead benchmark drives"),
        ("/fast", "about 5 ms"),
        ("/variable?ms=N", "sleeps N ms (the load generator picks 100, 300, 700 or 1500)"),
        ("/slow", "about 2.5 s"),
        ("/users/:id", "a SQLite query by primary key"),
        ("/report", "a deliberately slow SQLite query (a recursive CTE)"),
        ("/inventory/:sku", "an AsyncHTTPClient call to the downstream service (about 30 ms)"),
        ("/fail", "answers 500"),
    ]

    let configuration: Configuration
    let logger: Logger

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - configuration: Ports and files.
    ///   - logger: The logger.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the service, its downstream service, the background job and the agent until SIGTERM or SIGINT.
    ///
    /// - Parameter onListening: Called once both servers listen, with the ports they got (port 0 in the
    ///   configuration picks a free one, so tests and scripts read the port rather than guess one).
    public func run(
        onListening: @escaping @Sendable (_ port: Int, _ downstreamPort: Int) -> Void = { _, _ in }
    )
        async throws
    {
        let agent = APMAgent.fromEnvironment(logger: logger)
        // Bootstrap before the HTTPClient is created, so that it picks the agent's tracer up.
        InstrumentationSystem.bootstrap(agent.tracer)
        // The app's own lines go to the collector through the agent's handler, with the trace and transaction
        // they were logged in (logs in context); a few per request, errors at `error`.
        let log = Logger(label: "example-service") { agent.logHandler(label: $0) }
        let database = try DatabaseQueue(path: configuration.databasePath)
        try await Self.seed(database)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let durations = DurationLog(path: configuration.durationLog)

        let router = Router()
        router.middlewares.add(TimingMiddleware(log: durations, stopwatch: .outer))
        router.middlewares.add(TracingMiddleware())
        router.middlewares.add(TimingMiddleware(log: durations, stopwatch: .inner))
        Self.addTimedRoutes(to: router, log: log)
        Self.addDatabaseRoutes(to: router, log: log, database: database)
        // The port the downstream server got (the configured one, or the one port 0 picked).
        let boundDownstreamPort = Atomic<Int>(0)
        Self.addInventoryRoute(to: router, log: log, httpClient: httpClient) {
            boundDownstreamPort.load(ordering: .acquiring)
        }

        let downstream = Router()
        downstream.get("/stock/:sku") { _, _ -> String in
            try await Task.sleep(for: .milliseconds(30))
            return "42\n"
        }

        let downstreamReady = AsyncStream.makeStream(of: Int.self)
        let downstreamApp = Application(
            router: downstream,
            configuration: .init(
                address: .hostname("127.0.0.1", port: configuration.downstreamPort),
                serverName: "inventory"
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                boundDownstreamPort.store(port, ordering: .releasing)
                downstreamReady.continuation.yield(port)
                downstreamReady.continuation.finish()
            },
            logger: logger
        )
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: configuration.port), serverName: "example"),
            onServerRunning: { channel in
                var downstreamPort = 0
                for await port in downstreamReady.stream { downstreamPort = port }
                onListening(channel.localAddress?.port ?? 0, downstreamPort)
            },
            logger: logger
        )
        let job = BackgroundJob(agent: agent, database: database, interval: configuration.jobInterval, log: log)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: agent), .init(service: downstreamApp), .init(service: job), .init(service: app),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            try await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    /// Routes of known durations (`/hello`, `/fast`, `/variable?ms=`, `/slow`) and one that fails (`/fail`).
    static func addTimedRoutes(to router: Router<BasicRequestContext>, log: Logger) {
        router.get("/hello") { _, _ -> String in
            "hello\n"
        }
        router.get("/fast") { _, _ -> String in
            try await Task.sleep(for: .milliseconds(5))
            return "fast\n"
        }
        router.get("/variable") { request, _ -> String in
            let milliseconds = min(max(Int(request.uri.queryParameters.get("ms") ?? "") ?? 100, 0), 10_000)
            try await Task.sleep(for: .milliseconds(milliseconds))
            return "slept \(milliseconds) ms\n"
        }
        router.get("/slow") { _, _ -> String in
            log.warning("taking the slow path: about 2.5 s")
            try await Task.sleep(for: .milliseconds(2_500))
            return "slow\n"
        }
        router.get("/fail") { _, _ -> String in
            log.info("placing an order")
            do {
                return try Checkout.placeOrder()
            } catch {
                log.error("placing the order failed: \(error)")
                throw error
            }
        }
    }

    /// Routes that query the SQLite database: `/users/:id` (a datastore segment) and `/report` (a slow query in a
    /// span).
    static func addDatabaseRoutes(to router: Router<BasicRequestContext>, log: Logger, database: DatabaseQueue) {
        router.get("/users/:id") { _, context -> String in
            let id = context.parameters.get("id", as: Int.self) ?? 0
            log.info("looking up user \(id)", metadata: ["user.id": "\(id)"])
            let sql = "SELECT name FROM users WHERE id = ?"
            let segment = Transaction.current?.startDatastoreSegment(
                system: "sqlite",
                operation: "SELECT",
                table: "users",
                statement: sql
            )
            let name = try await database.read { try String.fetchOne($0, sql: sql, arguments: [id]) }
            segment?.end()
            guard let name else {
                log.warning("no user \(id)")
                throw HTTPError(.notFound, message: "no user \(id)")
            }
            return "\(name)\n"
        }
        router.get("/report") { _, _ -> String in
            // Deliberately slow: a recursive CTE summing a million rows.
            log.info("building the report")
            let sql =
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000) SELECT SUM(x) FROM n"
            let total = try await withSpan("report query", ofKind: .client) { span in
                span.attributes["db.system.name"] = "sqlite"
                span.attributes["db.query.text"] = sql
                return try await database.read { try Int.fetchOne($0, sql: sql) ?? 0 }
            }
            log.info("report total \(total)")
            return "total \(total)\n"
        }
    }

    /// `/inventory/:sku`: an external call to the downstream inventory service.
    static func addInventoryRoute(
        to router: Router<BasicRequestContext>,
        log: Logger,
        httpClient: HTTPClient,
        downstreamPort: @escaping @Sendable () -> Int
    ) {
        router.get("/inventory/:sku") { _, context -> String in
            let sku = context.parameters.get("sku") ?? "0"
            log.info("asking the inventory service for \(sku)")
            let downstreamPort = downstreamPort()
            guard downstreamPort != 0 else {
                throw HTTPError(.serviceUnavailable, message: "the inventory service is not listening yet")
            }
            let response = try await httpClient.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(downstreamPort)/stock/\(sku)"),
                timeout: .seconds(5)
            )
            let body = try await response.body.collect(upTo: 1 << 16)
            return "stock \(String(buffer: body))"
        }
    }

    static func seed(_ database: DatabaseQueue) async throws {
        try await database.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") == 0 {
                for id in 1...1_000 {
                    try db.execute(sql: "INSERT INTO users (id, name) VALUES (?, ?)", arguments: [id, "user-\(id)"])
                }
            }
        }
    }
}

/// A background job every few seconds, recorded as a background transaction through the agent's own API.
struct BackgroundJob: Service {
    let agent: APMAgent
    let database: DatabaseQueue
    let interval: Double
    let log: Logger

    func run() async throws {
        // Cancellation (another service of the group failed, e.g. its port was taken) ends the loop as well as a
        // graceful shutdown: a sleep that throws at once must not turn this into a busy loop.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(interval * 1000))) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            await agent.withBackgroundTransaction(name: "cleanup-sessions") { transaction in
                let sql = "SELECT COUNT(*) FROM users WHERE name LIKE 'user-1%'"
                let segment = transaction.startDatastoreSegment(system: "sqlite", statement: sql)
                let count = try? await database.read { try Int.fetchOne($0, sql: sql) }
                segment.end()
                log.info("cleaned up sessions: \(count ?? 0) users checked")
            }
        }
    }
}

/// Which of the app's stopwatches timed a request (see ``TimingMiddleware``).
enum Stopwatch: String, Sendable {
    case outer, inner
}

/// The app's own stopwatches: each appends every request's route, status and duration to a JSON-lines file, the
/// ground truth of the end-to-end test. The outer one runs around everything, the tracing middleware included,
/// until the response body has been written; the inner one inside the tracing middleware. So the agent's span
/// (which starts in the tracing middleware and ends when its body has been written) lasts at least the inner
/// duration, whatever the machine's load, and about the outer one at most: the test bounds the agent's figures
/// by both.
struct TimingMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: DurationLog
    let stopwatch: Stopwatch

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        let id = DurationLog.requestID(request.headers.first { $0.name.canonicalName == "x-request-id" }?.value)
        do {
            var response = try await next(request, context)
            let body = response.body
            let (log, path, status, stopwatch) = (log, request.uri.path, Int(response.status.code), stopwatch)
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                let written = body
                try await written.write(writer)
                log.append(
                    path: path,
                    status: status,
                    duration: ContinuousClock.now - started,
                    stopwatch: stopwatch,
                    id: id
                )
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            log.append(
                path: request.uri.path,
                status: Int(status),
                duration: ContinuousClock.now - started,
                stopwatch: stopwatch,
                id: id
            )
            throw error
        }
    }
}

/// Appends lines to a file from many tasks.
final class DurationLog: Sendable {
    private let handle: FileHandle?
    private let lock = NSLock()

    init(path: String) {
        if path.isEmpty {
            handle = nil
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            handle = FileHandle(forWritingAtPath: path)
        }
    }

    /// A request id as the log keeps it: up to 64 letters, digits, `-` and `_` (what a load generator sends);
    /// anything else is not kept, so the log stays valid JSON whatever a client sends.
    static func requestID(_ header: String?) -> String {
        guard let header, (1...64).contains(header.utf8.count),
            header.utf8.allSatisfy({
                $0 == 45 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
            })
        else { return "" }
        return header
    }

    func append(path: String, status: Int, duration: Duration, stopwatch: Stopwatch, id: String = "") {
        guard let handle else { return }
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let line =
            "{\"path\":\"\(path)\",\"status\":\(status),\"seconds\":\(seconds),\"stopwatch\":\"\(stopwatch.rawValue)\",\"id\":\"\(id)\"}\n"
        lock.lock()
        handle.write(Data(line.utf8))
        lock.unlock()
    }
}

/// What `/fail` runs: an error made three calls deep, carrying the stack where it was made, so that its sample
/// shows `Checkout.authorize()`, `Checkout.chargeCard()` and `Checkout.placeOrder()` with their files and lines.
enum Checkout {
    struct PaymentDeclined: HTTPResponseError, StackCarryingError, CustomStringConvertible {
        let stack = ErrorStack()
        var status: HTTPResponse.Status { .internalServerError }
        var description: String { "this route always fails" }

        func response(from request: Request, context: some RequestContext) throws -> Response {
            try HTTPError(.internalServerError, message: description).response(from: request, context: context)
        }
    }

    @inline(never)
    static func placeOrder() throws -> String {
        try chargeCard()
        return "ordered"
    }

    @inline(never)
    static func chargeCard() throws {
        try authorize()
    }

    @inline(never)
    static func authorize() throws {
        throw PaymentDeclined()
    }
}
