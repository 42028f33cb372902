import APMAgent
import APMCollector
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RunProgramTests {
    @Test func theChildSeesTheVariablesAndItsExitStatusPassesThrough() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            _ = try CLI.writeConfig(in: directory, key: key, port: port)
            let script =
                #"echo "CONFIG=$APM_CONFIG_FILE APP=$APM_APP_NAME URL=$APM_COLLECTOR_URL OTEL=$OTEL_SERVICE_NAME EP=$OTEL_EXPORTER_OTLP_ENDPOINT HDR=$OTEL_EXPORTER_OTLP_HEADERS PROTO=$OTEL_EXPORTER_OTLP_PROTOCOL RES=$OTEL_RESOURCE_ATTRIBUTES METRICS=$OTEL_METRICS_EXPORTER LOGS=$OTEL_LOGS_EXPORTER"; sleep 1.5; exit 7"#
            let result = try await CLI.run(
                [
                    "run-program", "--config", "agent.ini", "--environment", "staging", "--sample-interval", "0.1",
                    "--", "sh", "-c", script,
                ],
                in: directory,
                environment: ["OTEL_RESOURCE_ATTRIBUTES": "team=mine"]
            )
            #expect(result.status == 7)
            #expect(result.stdout.contains("CONFIG=\(directory)/agent.ini"))
            #expect(result.stdout.contains("APP=cli-app"))
            #expect(result.stdout.contains("URL=http://127.0.0.1:\(port)"))
            #expect(result.stdout.contains("OTEL=cli-app"))
            #expect(result.stdout.contains("EP=http://127.0.0.1:\(port)"))
            #expect(result.stdout.contains("HDR=x-apm-license-key=\(key)"))
            #expect(result.stdout.contains("PROTO=http/protobuf"))
            // The collector reads every signal: the SDK's exporters are left as it has them (before: metrics were
            // turned off, the collector answered them 501).
            #expect(result.stdout.contains("METRICS= "))
            #expect(result.stdout.contains("LOGS=\n"))
            // Already set: never overridden.
            #expect(result.stdout.contains("RES=team=mine"))

            // Process metrics and the start and exit events reached the collector.
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first { $0.name == "cli-app" })
            let now = Int64(Date().timeIntervalSince1970)
            let events = try await collector.store.processEvents(appID: app.id, range: (now - 600)..<(now + 60))
            // A non-zero exit the program was not asked for is a crash.
            #expect(events.map(\.kind) == ["start", "crash"])
            #expect(events.last?.exitCode == 7)
            // Samples may still be on their way when a loaded machine delays a delivery: wait a little.
            var samples = try await collector.store.processSlices(appID: app.id, range: (now - 600)..<(now + 60))
            for _ in 0..<50 where samples.isEmpty {
                try await Task.sleep(for: .milliseconds(200))
                samples = try await collector.store.processSlices(appID: app.id, range: (now - 600)..<(now + 60))
            }
            #expect(!samples.isEmpty)
            #expect(samples.allSatisfy { $0.residentBytesMax > 0 && $0.threadsMax >= 1 })
        }
    }

    /// The host's figures arrive with the process's, host-wide (process 0), named as OpenTelemetry names them, and
    /// agree with /proc and statfs read here: the memory limit is MemTotal, the CPU states' shares of each reading
    /// add up to one, a file system's used and free add up to its size.
    @Test func theHostsFiguresAgreeWithProcReadByTheTest() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            _ = try CLI.writeConfig(in: directory, key: key, port: port)
            let result = try await CLI.run(
                ["run-program", "--sample-interval", "0.2", "--", "sh", "-c", "sleep 1.5"],
                in: directory
            )
            #expect(result.status == 0)
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first { $0.name == "cli-app" })
            // Reports may still be on their way when a loaded machine delays a delivery: wait a little.
            var series = try await collector.store.metricSeries(appID: app.id, name: nil)
            for _ in 0..<50 where !series.contains(where: { $0.name == "system.cpu.utilization" }) {
                try await Task.sleep(for: .milliseconds(200))
                series = try await collector.store.metricSeries(appID: app.id, name: nil)
            }
            #expect(Set(series.map(\.process)) == [0])
            #expect(Set(series.map(\.host)) == [ProcessInfo.processInfo.hostName])
            let now = Int64(Date().timeIntervalSince1970)
            func rows(_ name: String, _ attributes: [String: String] = [:]) async throws -> [MetricRowRecord] {
                let ids = series.filter { member in
                    member.name == name && attributes.allSatisfy { member.attributes[$0.key] == $0.value }
                }.map(\.id)
                return try await collector.store.metricRows(
                    appID: app.id,
                    seriesIDs: ids,
                    range: now - 600..<now + 60,
                    resolution: .minute
                )
            }

            let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
            let totalLine = try #require(meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") })
            let totalKB = try #require(UInt64(totalLine.split(separator: " ")[1]))
            let limit = try await rows("system.memory.limit")
            #expect(!limit.isEmpty)
            #expect(limit.allSatisfy { $0.min == Double(totalKB * 1024) && $0.max == Double(totalKB * 1024) })

            let states = Set(
                series.filter { $0.name == "system.cpu.utilization" }.compactMap { $0.attributes["state"] }
            )
            #expect(states.isSuperset(of: ["user", "system", "idle"]))
            let utilization = try await rows("system.cpu.utilization")
            for bucket in Set(utilization.map(\.bucket)) {
                let shares = utilization.filter { $0.bucket == bucket }.map { $0.sum / Double($0.count) }
                #expect(abs(shares.reduce(0, +) - 1) < 1e-9, "\(shares)")
            }

            var info = statvfs()
            #expect(statvfs("/", &info) == 0)
            let size = Double(UInt64(info.f_blocks) * UInt64(info.f_frsize))
            let used = try await rows("system.filesystem.usage", ["mountpoint": "/", "state": "used"])
            let free = try await rows("system.filesystem.usage", ["mountpoint": "/", "state": "free"])
            let lastUsed = try #require(used.max { $0.lastTime < $1.lastTime })
            let lastFree = try #require(free.max { $0.lastTime < $1.lastTime })
            #expect(lastUsed.lastTime == lastFree.lastTime)
            #expect(lastUsed.last + lastFree.last == size)
            #expect(try await rows("system.cpu.load_average.1m").allSatisfy { ($0.min ?? -1) >= 0 })
            // The program's own figures too, with its process id: resident memory and threads as the samples have them.
            let memory = try #require(series.first { $0.name == "process.memory.usage" })
            #expect(memory.attributes["process.pid"].flatMap(Int32.init).map { $0 > 0 } == true)
            #expect(try await rows("process.memory.usage").allSatisfy { ($0.min ?? 0) > 0 })
            #expect(try await rows("process.thread.count").allSatisfy { ($0.min ?? 0) >= 1 })
        }
    }

    /// `--no-host-metrics`: the program's own figures only, no `system.*` series.
    @Test func withoutHostMetricsOnlyTheProgramsFiguresArrive() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            _ = try CLI.writeConfig(in: directory, key: key, port: port)
            let result = try await CLI.run(
                ["run-program", "--no-host-metrics", "--sample-interval", "0.2", "--", "sh", "-c", "sleep 1"],
                in: directory
            )
            #expect(result.status == 0)
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first { $0.name == "cli-app" })
            var names: Set<String> = []
            for _ in 0..<50 where !names.contains("process.memory.usage") {
                try await Task.sleep(for: .milliseconds(200))
                names = Set(try await collector.store.metricSeries(appID: app.id, name: nil).map(\.name))
            }
            #expect(names.contains("process.memory.usage"))
            #expect(!names.contains { $0.hasPrefix("system.") }, "\(names)")
        }
    }

    /// `--forward-output`: the program's lines are printed unchanged and arrive as its logs once each, with the
    /// levels their prefixes name and a traceback as one record; a program that ends keeps none of its lines back.
    @Test func forwardedOutputArrivesAsLogsAndIsStillPrinted() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            _ = try CLI.writeConfig(in: directory, key: key, port: port)
            let script = #"""
                echo "INFO:root:starting on port 8080"
                echo "ERROR:root:payment failed" >&2
                printf 'Traceback (most recent call last):\n  File "shop.py", line 12, in charge\nValueError: declined\n' >&2
                echo "plain line with password=hunter2"
                printf 'WARNING:root:no newline at the end'
                exit 3
                """#
            let result = try await CLI.run(
                ["run-program", "--forward-output", "--", "sh", "-c", script],
                in: directory
            )
            #expect(result.status == 3)
            // Printed unchanged, each stream to its own.
            #expect(
                result.stdout
                    == "INFO:root:starting on port 8080\nplain line with password=hunter2\nWARNING:root:no newline at the end"
            )
            #expect(result.stderr.contains("ERROR:root:payment failed\nTraceback (most recent call last):\n"))
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first { $0.name == "cli-app" })
            let now = Int64(Date().timeIntervalSince1970) * 1_000_000_000
            let lines = try await collector.store.logs(
                appID: app.id,
                filter: LogFilter(range: (now - 600_000_000_000)..<(now + 60_000_000_000)),
                after: nil,
                limit: 100
            )
            let byMessage = Dictionary(lines.map { ($0.message, $0) }, uniquingKeysWith: { first, _ in first })
            #expect(lines.count == 4, "\(lines.map(\.message))")
            #expect(byMessage["INFO:root:starting on port 8080"]?.level == .info)
            #expect(byMessage["INFO:root:starting on port 8080"]?.attributes["stream"] == "stdout")
            let failure = try #require(
                byMessage[
                    "ERROR:root:payment failed\nTraceback (most recent call last):\n  File \"shop.py\", line 12, in charge\nValueError: declined"
                ]
            )
            #expect(failure.level == .error)
            #expect(failure.attributes["stream"] == "stderr")
            #expect(byMessage["plain line with password=[Filtered]"]?.level == .info)
            #expect(byMessage["WARNING:root:no newline at the end"]?.level == .warn)
        }
    }

    @Test func aSignalDeathIsReportedAs128PlusTheSignalAndAsACrash() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            _ = try CLI.writeConfig(in: directory, key: key, port: port)
            let result = try await CLI.run(["run-program", "--", "sh", "-c", "kill -9 $$"], in: directory)
            #expect(result.status == 137)
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            let now = Int64(Date().timeIntervalSince1970)
            let events = try await collector.store.processEvents(appID: app.id, range: (now - 600)..<(now + 60))
            #expect(events.last?.kind == "crash")
            #expect(events.last?.signal == 9)
        }
    }

    /// Waits (at most a minute) until the program run by run-program created `path`: run-program starts the program
    /// after its signal handlers are in place, so a signal sent then is run-program's to forward. A fixed sleep was
    /// not enough when the whole suite kept two cores busy.
    static func waitForFile(_ path: String) {
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: path), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Stopping the app through run-program (SIGTERM forwarded; the app dies of it) is a stop, not a crash.
    @Test func aForwardedSIGTERMIsAStopNotACrash() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            let config = try CLI.writeConfig(in: directory, key: key, port: port)
            // The final report of a stop gets shutdown_timeout (3 s by default); the whole suite on two cores can
            // keep the in-process collector from answering that fast.
            let text = try String(contentsOfFile: config, encoding: .utf8)
            #expect(text.contains("\nshutdown_timeout = 3\n"))
            try text.replacingOccurrences(of: "\nshutdown_timeout = 3\n", with: "\nshutdown_timeout = 30\n")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let result = try await CLI.run(
                ["run-program", "--", "sh", "-c", "echo ready; touch started; while true; do sleep 0.05; done"],
                in: directory
            ) { process in
                Self.waitForFile("\(directory)/started")
                kill(process.processIdentifier, SIGTERM)
            }
            #expect(result.status == 128 + SIGTERM)
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            let now = Int64(Date().timeIntervalSince1970)
            let events = try await collector.store.processEvents(appID: app.id, range: (now - 600)..<(now + 60))
            #expect(events.map(\.kind) == ["start", "stop"])
            #expect(events.last?.detail.contains("stopped by SIGTERM") == true)
        }
    }

    /// A collector that never answers cannot hold a stop: after a forwarded SIGTERM the app's agent gives up its
    /// delivery at shutdown_timeout (3 s) and run-program, whose own last report counts from the signal, exits
    /// within shutdown_timeout + 1 s of it. Before, the app waited out its request in flight (request_timeout,
    /// 10 s) and run-program 3 s more.
    @Test(.tags(.slow)) func aStopWithTheCollectorSilentEndsWithinShutdownTimeout() async throws {
        let collector = try SilentPeer()
        let directory = try CLI.temporaryDirectory()
        let config = try CLI.writeConfig(
            in: directory,
            key: "apm_0123456789abcdef0123456789abcdef",
            port: collector.port
        )
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try (text + "\nharvest_interval = 1\n").write(toFile: config, atomically: true, encoding: .utf8)
        let apm = try #require(BuiltExecutable.path("apm"))
        let signalled = Locked<ContinuousClock.Instant?>(nil)
        let result = try await CLI.run(
            [
                "run-program", "--config", "agent.ini", "--", apm, "example-service", "--port", "0",
                "--downstream-port", "0", "--database", "\(directory)/example.sqlite", "--job-interval", "0.2",
            ],
            in: directory
        ) { process in
            // Background jobs run, a harvest is due every second, and its delivery hangs on the silent collector.
            Thread.sleep(forTimeInterval: 6)
            signalled.withLock { $0 = .now }
            kill(process.processIdentifier, SIGTERM)
        }
        let stopped = ContinuousClock.now - (try #require(signalled.withLock { $0 }))
        // The example service exits 0 on SIGTERM; run-program passes that on.
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        // The design: the app gives up at 3.2 s, run-program's own last report at 3 s after the signal (0.3 s at
        // least); a second more for processes to end on a machine running the whole suite. Before: 13 s.
        #expect(stopped <= .seconds(5), "run-program stopped \(stopped) after SIGTERM (shutdown_timeout 3 s)")
    }

    @Test func sigtermReachesTheChild() async throws {
        let directory = try CLI.temporaryDirectory()
        let script = "trap 'echo got-term; exit 42' TERM; echo ready; touch started; while true; do sleep 0.05; done"
        let result = try await CLI.run(["run-program", "--", "sh", "-c", script], in: directory) { process in
            Self.waitForFile("\(directory)/started")
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(result.status == 42)
        #expect(result.stdout.contains("got-term"))
    }

    /// A SIGTERM at any moment of the start never leaves the program running without run-program (before, one
    /// between the spawn and the signal handlers ended run-program and orphaned the child, which kept this
    /// test's output pipe open: a CI run hung on it). Each delay below must end with run-program.
    @Test(.timeLimit(.minutes(2))) func aSIGTERMDuringTheStartNeverOrphansTheProgram() async throws {
        let directory = try CLI.temporaryDirectory()
        for delay in [0.0, 0.005, 0.02, 0.05, 0.1, 0.2] {
            let result = try await CLI.run(
                ["run-program", "--", "sh", "-c", "while true; do sleep 0.05; done"],
                in: directory
            ) { process in
                Thread.sleep(forTimeInterval: delay)
                kill(process.processIdentifier, SIGTERM)
            }
            // Stopped by the forwarded SIGTERM (143), or by SIGTERM itself before run-program had started
            // anything; either way it returned, so nothing kept the pipe open.
            #expect(result.status == 128 + SIGTERM || result.status == SIGTERM, "\(delay): \(result.status)")
        }
    }

    /// Before: `apm run-program --help` looked for a program named --help and exited 127.
    @Test func helpBeforeTheProgramIsTheVerbsHelp() async throws {
        let directory = try CLI.temporaryDirectory()
        for flag in ["--help", "-h"] {
            let help = try await CLI.run(["run-program", flag], in: directory)
            #expect(help.status == 0, "\(flag): \(help.stderr)")
            #expect(help.stdout.contains("USAGE: apm run-program"), "\(help.stdout)")
        }
        let withOptions = try await CLI.run(["run-program", "--sample-interval", "1", "--help"], in: directory)
        #expect(withOptions.status == 0 && withOptions.stdout.contains("USAGE: apm run-program"))
        // After -- (or after the program) it is the program's.
        let program = try await CLI.run(
            ["run-program", "--ignore-config-errors", "--", "sh", "-c", "echo got $0", "--help"],
            in: directory
        )
        #expect(program.stdout.contains("got --help"), "\(program.stdout) \(program.stderr)")
    }

    @Test func programNotFoundIs127AndABrokenConfigIs2() async throws {
        let directory = try CLI.temporaryDirectory()
        let missing = try await CLI.run(["run-program", "--", "no-such-program-anywhere"], in: directory)
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("program not found"))

        try "[agent]\napdex_t = never\n".write(
            toFile: (directory as NSString).appendingPathComponent("agent.ini"),
            atomically: true,
            encoding: .utf8
        )
        let broken = try await CLI.run(["run-program", "--", "sh", "-c", "exit 0"], in: directory)
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("agent.ini:2: apdex_t"))
        let ignored = try await CLI.run(
            ["run-program", "--ignore-config-errors", "--", "sh", "-c", "echo enabled=$APM_ENABLED"],
            in: directory
        )
        #expect(ignored.status == 0)
        #expect(ignored.stdout.contains("enabled=false"))
    }
}
