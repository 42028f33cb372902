import APMCollector
import APMTestSupport
import Foundation
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection for tests that misbehave on purpose (silence, trickled headers, stalled bodies).
final class RawConnection: Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer {
            Glibc.send(descriptor, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL))
        }
    }

    /// Reads until the peer closes or `timeout` passes, on a thread of its own (a blocking wait on one of the two
    /// cooperative threads would stall every in-process collector of the suite); returns what was read and
    /// whether the peer closed.
    func readUntilClosed(timeout: Double) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.blockingReadUntilClosed(timeout: timeout)) }
        }
    }

    private func blockingReadUntilClosed(timeout: Double) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            guard ready > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}

/// Connections that hold the collector's descriptors without finishing a request are closed: silent ones, ones
/// trickling their headers, ones stalling their body, and kept-alive ones left idle. The connection cap keeps the
/// collector under its descriptor limit, and the timeouts free places under the cap.
@Suite struct ConnectionTimeoutTests {
    typealias Support = CollectorTestSupport

    static var shortTimeouts: CollectorConfiguration {
        Support.configuration {
            $0.server.headerTimeout = .seconds(1)
            $0.server.idleTimeout = .seconds(1)
            $0.server.bodyTimeout = .seconds(1)
        }
    }

    @Test func silentTricklingStalledAndIdleConnectionsAreClosed() async throws {
        try await Support.withCollector(Self.shortTimeouts, transport: .live) { collector, _, _ in
            let port = try #require(collector.boundPort)
            let silent = try RawConnection(port: port)
            let trickling = try RawConnection(port: port)
            let stalled = try RawConnection(port: port)
            let idle = try RawConnection(port: port)
            stalled.send(
                "POST /v1/agent/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"version\":"
            )
            idle.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            // A byte every 200 ms: never a complete head.
            let trickle = Task.detached {
                for byte in "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa".map(String.init) {
                    trickling.send(byte)
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { trickle.cancel() }
            for (name, connection) in [
                ("silent", silent), ("trickling", trickling), ("stalled", stalled), ("idle", idle),
            ] {
                let result = await connection.readUntilClosed(timeout: 60)
                #expect(result.closed, "\(name) connection still open after 60 s")
                if name == "idle" { #expect(result.text.contains("200 OK")) }
            }
        }
    }

    @Test func connectionsPastTheCapWaitAndAreServedOnceTimeoutsFreePlaces() async throws {
        var configuration = Self.shortTimeouts
        configuration.server.maxConnections = 16
        try await Support.withCollector(configuration, transport: .live) { collector, _, _ in
            let port = try #require(collector.boundPort)
            let holders = try (0..<16).map { _ in try RawConnection(port: port) }
            let late = try RawConnection(port: port)
            late.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let result = await late.readUntilClosed(timeout: 60)
            #expect(result.text.contains("200 OK"), "\(result)")
            _ = holders
        }
    }

    /// The real binary under `ulimit -n 128`: connections past the cap wait in the kernel's queue instead of
    /// exhausting descriptors (before: at the limit `/healthz`, ingest and the API all timed out and the collector
    /// spun), and the header timeout frees places, so a health check is answered.
    @Test func atTheDescriptorLimitHealthIsStillAnswered() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-fd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("collector.ini")
        try "[collector]\nheader_timeout = 2\nidle_timeout = 2\npassword_hash_cost = 10\n".write(
            to: config,
            atomically: true,
            encoding: .utf8
        )
        let collector = try APMProcess(
            arguments: [
                "collector", "--data-dir", directory.appendingPathComponent("data").path, "--port", "0", "--config",
                config.path,
            ],
            shell: #"ulimit -n 128 && exec "$0" "$@""#
        )
        defer { collector.kill(signal: SIGKILL) }
        #expect(
            await collector.waitForOutput(containing: "apm collector listening on"),
            "\(collector.output)"
        )
        let port = try #require(collector.collectorPort)
        let holders = try (0..<150).map { _ in try RawConnection(port: port) }
        let health = try RawConnection(port: port)
        health.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let result = await health.readUntilClosed(timeout: 60)
        #expect(result.text.contains("200 OK"), "\(result)")
        _ = holders
    }
}
