import APMCore
import Foundation
import Testing

@testable import APMAgent

#if canImport(Glibc)
import Glibc
#endif

/// The plain-socket transport for `http://` collectors: reads every framing of a response, and gives up at the
/// request's timeout when the collector accepts the connection and never answers.
@Suite struct SocketTransportTests {
    @Test func responsesAreReadByLengthChunkedOrToTheEnd() throws {
        let byLength = try SocketCollectorTransport.parse(
            Array("HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\nRetry-After: 3\r\n\r\nhello+extra".utf8)
        )
        #expect(byLength.status == 202)
        #expect(String(decoding: byLength.body, as: UTF8.self) == "hello")
        #expect(byLength.headers["retry-after"] == "3")
        let chunked = try SocketCollectorTransport.parse(
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n".utf8)
        )
        #expect(String(decoding: chunked.body, as: UTF8.self) == "abcde")
        let toTheEnd = try SocketCollectorTransport.parse(Array("HTTP/1.1 503 Busy\r\n\r\nlater".utf8))
        #expect(toTheEnd.status == 503)
        #expect(String(decoding: toTheEnd.body, as: UTF8.self) == "later")
        #expect(throws: URLError.self) { try SocketCollectorTransport.parse(Array("garbage\r\n\r\n".utf8)) }
        #expect(throws: URLError.self) {
            try SocketCollectorTransport.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8))
        }
    }

    @Test func aCollectorThatNeverAnswersTimesOutAtTheDeadline() async throws {
        // Listening, so the connection is accepted by the kernel, but nothing ever reads or answers.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        listen(descriptor, 4)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let request = CollectorRequest(
            url: URL(string: "http://127.0.0.1:\(port)/v1/agent/batches")!,
            headers: ["Content-Type": "application/json"],
            body: Data("{}".utf8),
            timeout: .milliseconds(300)
        )
        let started = ContinuousClock.now
        await #expect(throws: URLError.self) { try await SocketCollectorTransport().send(request) }
        // The deadline held: without one the send would wait forever. The bound only tells the two apart; a
        // busy CI run (the whole suite, a build and a browser on 2 cores) once took 6.3 s for the 300 ms deadline.
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}
