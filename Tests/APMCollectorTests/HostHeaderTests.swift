import APMCollector
import APMTestSupport
import Foundation
import HummingbirdTesting
import Testing

/// RFC 9112 §3.2: a request with no Host, with two, or with one that is not `host[:port]` gets 400; a request in
/// absolute form is for the host of its target, which must pass the same check as Host (421 otherwise).
@Suite struct HostHeaderTests {
    typealias Support = CollectorTestSupport

    @Test func missingRepeatedMalformedAndAbsoluteFormHostsAreRefused() async throws {
        try await Support.withCollector(transport: .live) { collector, _, _ in
            let port = try #require(collector.boundPort)
            let cases: [(request: String, status: String)] = [
                ("GET /healthz HTTP/1.1\r\n", "400"),
                ("GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n", "400"),
                ("GET /healthz HTTP/1.1\r\nHost: localhost:\(port)@evil.example\r\n", "400"),
                ("GET /healthz HTTP/1.1\r\nHost: local host\r\n", "400"),
                ("GET http://evil.example/healthz HTTP/1.1\r\nHost: localhost\r\n", "421"),
                ("GET http://localhost:\(port)@evil.example/healthz HTTP/1.1\r\nHost: localhost\r\n", "400"),
                ("GET http://127.0.0.1:\(port)/healthz HTTP/1.1\r\nHost: evil.example\r\n", "200"),
                ("GET /healthz HTTP/1.1\r\nHost: localhost:\(port)\r\n", "200"),
                ("GET /healthz HTTP/1.1\r\nHost: [::1]:\(port)\r\n", "200"),
            ]
            for (request, status) in cases {
                let connection = try RawConnection(port: port)
                connection.send(request + "Connection: close\r\n\r\n")
                let answer = await connection.readUntilClosed(timeout: 30).text
                let statusLine = answer.split(separator: "\r\n").first.map(String.init) ?? ""
                #expect(statusLine.hasPrefix("HTTP/1.1 \(status)"), "\(request.debugDescription): \(statusLine)")
            }
        }
    }
}
