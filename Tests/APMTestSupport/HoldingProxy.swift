import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on loopback between a client and a server that a test can make hold every byte (``hold()``), as a
/// network partition or a hung middlebox does: connections stay open, nothing arrives and nothing is refused,
/// the hardest kind of outage for a client. ``release()`` lets the held bytes through again.
public final class HoldingProxy: Sendable {
    /// The port clients connect to.
    public let port: Int
    private let listener: Int32
    private let target: Int
    private let state = Mutex(State())

    private struct State {
        var holding = false
        var closed = false
        var sockets: Set<Int32> = []
    }

    /// Starts forwarding 127.0.0.1:`port` (picked by the kernel) to 127.0.0.1:`target`.
    ///
    /// - Parameter target: The server's port.
    /// - Throws: When the listening socket cannot be set up.
    public init(to target: Int) throws {
        self.target = target
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard listener >= 0, bound == 0, listen(listener, 128) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "the proxy cannot listen"])
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// From now on no byte passes in either direction and new connections are accepted but never forwarded.
    public func hold() { state.withLock { $0.holding = true } }

    /// Bytes pass again, the held ones first.
    public func release() { state.withLock { $0.holding = false } }

    /// Closes every connection and the listener.
    public func close() {
        let sockets = state.withLock { state in
            state.closed = true
            return state.sockets
        }
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private var isClosed: Bool { state.withLock { $0.closed } }
    private var isHolding: Bool { state.withLock { $0.holding } }

    private func acceptLoop() {
        while !isClosed {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if isClosed { break }
                continue
            }
            let thread = Thread { [self] in forward(client) }
            thread.start()
        }
        Glibc.close(listener)
    }

    private func forward(_ client: Int32) {
        // A connection made while holding waits for the release before it reaches the server.
        while isHolding && !isClosed { usleep(20_000) }
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: target)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0, !isClosed else {
            Glibc.close(client)
            Glibc.close(server)
            return
        }
        state.withLock { state in
            state.sockets.insert(client)
            state.sockets.insert(server)
        }
        defer {
            state.withLock { state in
                state.sockets.remove(client)
                state.sockets.remove(server)
            }
            Glibc.close(client)
            Glibc.close(server)
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var descriptors = [
            pollfd(fd: client, events: Int16(POLLIN), revents: 0),
            pollfd(fd: server, events: Int16(POLLIN), revents: 0),
        ]
        while !isClosed {
            if isHolding {
                usleep(20_000)
                continue
            }
            descriptors[0].revents = 0
            descriptors[1].revents = 0
            guard poll(&descriptors, 2, 20) >= 0 else { return }
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let other = index == 0 ? server : client
                let count = read(descriptor.fd, &buffer, buffer.count)
                guard count > 0 else { return }
                var written = 0
                while written < count {
                    let result = buffer.withUnsafeBytes { write(other, $0.baseAddress! + written, count - written) }
                    guard result > 0 else { return }
                    written += result
                }
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}
