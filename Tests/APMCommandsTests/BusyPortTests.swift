import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A listening socket on a loopback port the kernel picks, held for the test.
final class HeldPort {
    let descriptor: Int32
    let port: Int

    init() {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        listen(descriptor, 8)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Servers started on a port that is taken say so and exit, instead of running on without listening (the
/// example service spun a core and ignored SIGTERM; the collector created and printed first-start credentials).
@Suite struct BusyPortTests {
    @Test func theExampleServiceOnABusyPortExitsWithAMessage() async throws {
        let held = HeldPort()
        let directory = try CLI.temporaryDirectory()
        let result = try await CLI.run(
            [
                "example-service", "--port", "\(held.port)", "--downstream-port", "0", "--database",
                (directory as NSString).appendingPathComponent("example.sqlite"),
            ],
            in: directory
        )
        #expect(result.status == 1)
        #expect(result.stderr.contains("in use"), "\(result.stderr)")
    }
}
