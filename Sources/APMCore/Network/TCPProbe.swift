import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Asks whether anything listens at an address, without waiting long: a refused connection is known at once,
/// while clients that retry refusals until their deadline (connection pools, AsyncHTTPClient) would wait it out.
public enum TCPProbe {
    /// Whether a TCP connection to `host:port` is refused outright by every address the host resolves to. Any
    /// other outcome (accepted, no answer within `timeout`, a host that does not resolve) is `false`: left to the
    /// caller's own client to report.
    ///
    /// - Parameters:
    ///   - host: A host name or address.
    ///   - port: The port.
    ///   - timeout: How long one connection attempt may take.
    /// - Returns: Whether nothing listens there.
    public static func isRefused(host: String, port: Int, timeout: Duration = .seconds(1)) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: probe(host: host, port: port, timeout: timeout))
            }
        }
    }

    private static func probe(host: String, port: Int, timeout: Duration) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, list != nil else { return false }
        defer { freeaddrinfo(list) }
        let milliseconds = Int32(
            clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        var entry = list
        while let info = entry {
            guard refused(info.pointee, milliseconds: milliseconds) else { return false }
            entry = info.pointee.ai_next
        }
        return true
    }

    private static func refused(_ info: addrinfo, milliseconds: Int32) -> Bool {
        let descriptor = socket(info.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        if connect(descriptor, info.ai_addr, info.ai_addrlen) == 0 { return false }
        guard errno == EINPROGRESS else { return errno == ECONNREFUSED }
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, milliseconds) > 0 else { return false }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
        return failure == ECONNREFUSED
    }
}
