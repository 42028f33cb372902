import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A peer that never answers: a socket on 127.0.0.1 that listens and never accepts. Connections complete (the
/// kernel's backlog takes them) and requests are sent, but no byte ever comes back, as with a collector that
/// hangs or a network that drops its answers.
public final class SilentPeer: Sendable {
    /// The port it listens on.
    public let port: Int
    private let socketDescriptor: Int32

    /// Starts listening on a port the kernel picks.
    ///
    /// - Throws: When the socket cannot be set up.
    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 256) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot listen on loopback"])
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.socketDescriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(socketDescriptor)
    }
}
