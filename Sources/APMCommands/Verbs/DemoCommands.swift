import APMAgent
import APMCollector
import APMCore
import APMExample
import APMStorage
import ArgumentParser
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// `apm example-service`: the example app the demo and the end-to-end test run.
struct ExampleServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example-service",
        abstract:
            "Run the example service (instrumented Hummingbird app with SQLite, an external call, a failing route and a background job).",
        discussion: HelpText.discussion(
            """
            Routes: \(ExampleService.routes.map { "\($0.path) (\($0.description))" }.joined(separator: ", ")).
            Run it with the agent: apm run-program --config agent.ini -- apm example-service

            Exit codes: 0 stopped by SIGTERM/SIGINT; 1 it could not start.
            """
        )
    )

    @Option(help: "The service's port (0: any free port, printed once listening).") var port: Int = 8080
    @Option(help: "The downstream (inventory) service's port (0: any free port).") var downstreamPort: Int = 8081
    @Option(help: "The SQLite file.") var database: String = "example.sqlite"
    @Option(help: "Seconds between background jobs.") var jobInterval: Double = 5
    @Option(help: "Append each request's server-measured duration to this file (JSON lines).") var durationLog: String =
        ""

    func run() async throws {
        var configuration = ExampleService.Configuration()
        configuration.port = port
        configuration.downstreamPort = downstreamPort
        configuration.databasePath = database
        configuration.jobInterval = jobInterval
        configuration.durationLog = durationLog
        var logger = Logger(label: "example")
        logger.logLevel = .warning
        do {
            try await ExampleService(configuration: configuration, logger: logger).run { port, downstreamPort in
                print("example service listening on http://127.0.0.1:\(port) (inventory on :\(downstreamPort))")
                fflush(nil)
            }
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") || text.contains("EADDRINUSE") {
                printError(
                    "apm example-service: cannot listen on 127.0.0.1:\(port) or :\(downstreamPort): the address is in use; choose --port and --downstream-port"
                )
            } else {
                printError("apm example-service: \(error)")
            }
            throw ExitCode(1)
        }
    }
}

/// `apm loadgen`: drives the example service and writes the ground truth.
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Drive the example service with a mix of routes and write what a client-side stopwatch saw.",
        discussion: HelpText.discussion(
            """
            Requests are sent open-loop at --rate per second (a request is skipped, and counted, when --max-in-flight
            are already waiting). The ground truth has, per route (named as the agent names the transaction) and
            per minute: count, errors (5xx or no answer), Apdex S/T/F at --apdex-t, and p50/p95/p99.

            Example:
              apm loadgen --url http://127.0.0.1:8080 --rate 20 --output truth.json
            """
        )
    )

    @Option(help: "The example service's URL.") var url: String = "http://127.0.0.1:8080"
    @Option(help: "Requests per second.") var rate: Double = 20
    @Option(help: "Seconds to run.") var duration: Double = 30
    @Option(name: .customLong("apdex-t"), help: "T for the S/T/F counts.") var apdexT: Double = 0.5
    @Option(help: "Write the ground truth here (JSON); standard output when absent.") var output: String?
    @Option(help: "Requests waiting for an answer at most; past it a request is skipped and counted.")
    var maxInFlight: Int = 64

    func validate() throws {
        guard rate > 0, rate <= 2_000 else { throw ValidationError("--rate must be from 0 to 2000 per second") }
        guard (1...10_000).contains(maxInFlight) else { throw ValidationError("--max-in-flight must be 1 to 10000") }
        guard duration > 0, duration <= 86_400 else {
            throw ValidationError("--duration must be from 0 to 86400 seconds")
        }
        guard ApdexThreshold(seconds: apdexT) != nil else {
            throw ValidationError("--apdex-t must be a positive number of seconds")
        }
    }

    func run() async throws {
        var configuration = LoadGenerator.Configuration(baseURL: url, rate: rate, duration: duration, apdexT: apdexT)
        configuration.maxInFlight = maxInFlight
        let generator = LoadGenerator(configuration: configuration)
        let truth = await generator.run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(truth)
        if let output {
            try data.write(to: URL(fileURLWithPath: output))
            print("\(truth.requests) requests (\(truth.skipped) skipped); ground truth in \(output)")
        } else {
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
