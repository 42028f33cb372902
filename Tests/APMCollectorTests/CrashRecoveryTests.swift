import APMAgent
import APMCollector
import APMCore
import APMTestSupport
import APMTesting
import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension Locked where Value == Double {
    /// A clock for a collector that reads this value: tests move time by changing it.
    var reader: @Sendable () -> Double { { self.withLock { $0 } } }
}

@Suite(.serialized, .tags(.slow)) struct CrashRecoveryTests {
    @Test func killedWithSIGKILLMidStreamLosesNoAcknowledgedBatchAndCountsRetriesOnce() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-crash-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Port 0 for both starts: the restarted collector listens wherever the kernel puts it, and the agents
        // follow it there (as a load balancer would), rather than racing other sockets for the old port.
        let arguments = ["collector", "--data-dir", directory, "--port", "0"]
        let first = try APMProcess(arguments: arguments)
        let port = Locked(try #require(await first.waitForPort(after: APMProcess.collectorAnnouncement)))
        let key = try #require(first.licenseKey)

        let minute = CollectorTestSupport.currentMinute()
        let batches = (0..<400).map { index in
            CollectorTestSupport.batch(
                minute: minute,
                metrics: [
                    CollectorTestSupport.metric("GET /item", durations: Array(repeating: 0.02, count: index % 5 + 1))
                ]
            )
        }
        let expected = batches.reduce(UInt64(0)) { $0 + $1.intervals[0].transactions[0].count }
        let transport = URLSessionCollectorTransport()
        @Sendable func send(_ batch: AgentBatch) async -> Int? {
            let endpoint = URL(string: "http://127.0.0.1:\(port.withLock { $0 })/v1/agent/batches")!
            guard let body = try? Gzip.compress(WireCoding.makeEncoder().encode(batch)) else { return nil }
            let request = CollectorRequest(
                url: endpoint,
                headers: [
                    "Content-Type": "application/json", "Content-Encoding": "gzip", "X-APM-License-Key": key,
                    "X-APM-Batch-ID": batch.batchID,
                ],
                body: body,
                timeout: .seconds(5)
            )
            return try? await transport.send(request).status
        }

        // Four agents stream batches; the collector is killed with SIGKILL once 100 are acknowledged.
        let acknowledged = Locked<Set<String>>([])
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for batch in batches.enumerated().filter({ $0.offset % 4 == worker }).map(\.element) {
                        if let status = await send(batch), (200..<300).contains(status) {
                            acknowledged.withLock { _ = $0.insert(batch.batchID) }
                        }
                    }
                }
            }
            group.addTask {
                while acknowledged.withLock({ $0.count }) < 100 { try? await Task.sleep(for: .milliseconds(2)) }
                first.kill(signal: SIGKILL)
            }
        }
        let acknowledgedBeforeCrash = acknowledged.withLock { $0 }
        #expect(acknowledgedBeforeCrash.count >= 100)
        #expect(acknowledgedBeforeCrash.count < batches.count, "the kill came too late to test anything")

        // Restart on the same data; agents retry everything they are unsure of (and, to be harsh, all the rest).
        let second = try APMProcess(arguments: arguments)
        defer { second.kill(signal: SIGTERM) }
        let secondPort = try #require(await second.waitForPort(after: APMProcess.collectorAnnouncement))
        port.withLock { $0 = secondPort }
        #expect(!second.output.contains("license key:"))
        var duplicates = Set<String>()
        for batch in batches {
            var status: Int?
            for _ in 0..<20 {
                status = await send(batch)
                if status != nil { break }
                try? await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == 200 || status == 202)
            if status == 200 { duplicates.insert(batch.batchID) }
        }
        // Every batch acknowledged before the crash was durable: the retry is recognised as a duplicate.
        #expect(acknowledgedBeforeCrash.isSubset(of: duplicates))

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(secondPort)/api/v1/apps?since=1h")!)
        request.setValue("Bearer \(try #require(first.apiToken))", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        let apps = try JSONDecoder().decode(AppsResponse.self, from: data)
        #expect(apps.apps.first?.summary.count == expected)
    }
}
