import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loopback ports for tests that start real servers.
public enum LoopbackPort {
    /// A port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range: a port the
    /// kernel hands out for `bind(0)` or an outgoing connection could be taken by another test (or a client
    /// socket) between this check and the caller's bind, and then the caller's server fails to start. A
    /// random port below that range is only taken by another caller of this function, picking the same one.
    ///
    /// - Returns: The port.
    public static func free() -> Int {
        let lowestEphemeral = ephemeralRangeStart()
        if lowestEphemeral > 12_000 {
            for _ in 0..<200 {
                let port = Int.random(in: 10_000..<lowestEphemeral)
                if canBind(port) { return port }
            }
        }
        return kernelPick()
    }

    /// The first port of `/proc/sys/net/ipv4/ip_local_port_range` (32768 by default on Linux).
    static func ephemeralRangeStart() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
            let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
            let port = Int(first)
        else { return 32_768 }
        return port
    }

    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        } == 0
    }

    static func kernelPick() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
