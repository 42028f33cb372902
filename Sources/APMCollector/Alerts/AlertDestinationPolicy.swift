import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where alert notifications may go: not inside the collector's own network unless an operator said so. A
/// webhook URL is whatever an admin (or a stolen admin token) enters, and the collector would POST to it from
/// where it runs: to its own API on loopback, to cloud metadata at 169.254.169.254, to services on the private
/// network. So addresses are checked after DNS resolution, in every spelling (`0x7f000001`, `2130706433`,
/// `[::ffff:127.0.0.1]` resolve to what they are), and the connection then goes to the address that was checked
/// (no second lookup that a rebinding DNS server could answer differently); redirects are not followed.
///
/// Refused unless `alert_allowed_destinations` allows them (host names, addresses or CIDR blocks): loopback,
/// link-local, private (RFC 1918, shared 100.64/10, IPv6 unique-local), unspecified, multicast and reserved
/// addresses, and every address of this machine's own interfaces.
public struct AlertDestinationPolicy: Sendable, Hashable {
    /// Host names allowed whatever they resolve to (lower-cased).
    let allowedHosts: Set<String>
    /// Address blocks allowed.
    let allowedBlocks: [AddressBlock]

    /// Creates the policy.
    ///
    /// - Parameter allowed: `alert_allowed_destinations`: host names, addresses and CIDR blocks.
    public init(allowed: [String] = []) {
        var hosts = Set<String>()
        var blocks: [AddressBlock] = []
        for entry in allowed {
            if let block = AddressBlock(entry) { blocks.append(block) } else { hosts.insert(entry.lowercased()) }
        }
        self.allowedHosts = hosts
        self.allowedBlocks = blocks
    }

    /// Whether `entry` is a valid `alert_allowed_destinations` entry: a CIDR block, an address or a host name.
    static func isValidEntry(_ entry: String) -> Bool {
        if AddressBlock(entry) != nil { return true }
        return !entry.isEmpty && entry.count <= 253
            && entry.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-".contains($0)) }
    }

    /// A destination that passed: the host as the URL names it and the address to connect to.
    public struct Destination: Sendable, Hashable {
        /// The URL's host (for `Host`, TLS SNI and the certificate).
        public var host: String
        /// The checked address the connection goes to.
        public var address: String
    }

    /// Resolves a URL's host and checks every address it has.
    ///
    /// - Parameter url: An `http://` or `https://` URL.
    /// - Returns: The host and the address to connect to.
    /// - Throws: ``AlertDeliveryFailure`` naming the address and how to allow it.
    public func check(url: String) async throws -> Destination {
        guard let components = URLComponents(string: url), let rawHost = components.host, !rawHost.isEmpty else {
            throw AlertDeliveryFailure(reason: "the URL names no host")
        }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        let addresses = try await Self.resolve(host)
        guard let first = addresses.first else {
            throw AlertDeliveryFailure(reason: "\(host) does not resolve to any address")
        }
        if allowedHosts.contains(host) { return Destination(host: rawHost, address: first.text) }
        let own = Self.interfaceAddresses()
        for address in addresses {
            if allowedBlocks.contains(where: { $0.contains(address) }) { continue }
            let reason =
                address.internalKind ?? (own.contains(address) ? "an address of the collector's own machine" : nil)
            if let reason {
                throw AlertDeliveryFailure(
                    reason:
                        "refused: \(host) is \(address.text) (\(reason)); notifications do not go inside the collector's network unless alert_allowed_destinations in collector.ini allows the host or its address"
                )
            }
        }
        return Destination(host: rawHost, address: first.text)
    }

    /// The addresses of a host name or literal (`getaddrinfo`, which also reads the numeric spellings), off the
    /// concurrency pool's threads.
    static func resolve(_ host: String) async throws -> [IPAddress] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &list)
                guard status == 0 else {
                    let message = String(cString: gai_strerror(status))
                    continuation.resume(throwing: AlertDeliveryFailure(reason: "cannot resolve \(host): \(message)"))
                    return
                }
                defer { freeaddrinfo(list) }
                var addresses: [IPAddress] = []
                var entry = list
                while let current = entry {
                    if let address = current.pointee.ai_addr.flatMap({ IPAddress(sockaddr: $0) }),
                        !addresses.contains(address)
                    {
                        addresses.append(address)
                    }
                    entry = current.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }

    /// Every address of this machine's interfaces.
    static func interfaceAddresses() -> Set<IPAddress> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var addresses = Set<IPAddress>()
        var entry = list
        while let current = entry {
            if let address = current.pointee.ifa_addr.flatMap({ IPAddress(sockaddr: $0) }) {
                addresses.insert(address)
            }
            entry = current.pointee.ifa_next
        }
        return addresses
    }
}

/// An IPv4 or IPv6 address as 4 or 16 bytes.
struct IPAddress: Sendable, Hashable {
    let bytes: [UInt8]

    init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a literal address (`127.0.0.1`, `::1`).
    init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self.bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    init?(sockaddr pointer: UnsafeMutablePointer<sockaddr>) {
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            let address = pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            self.bytes = withUnsafeBytes(of: address) { Array($0) }
        case AF_INET6:
            let address = pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            self.bytes = withUnsafeBytes(of: address) { Array($0) }
        default:
            return nil
        }
    }

    /// The address as text (`127.0.0.1`, `::1`).
    var text: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        bytes.withUnsafeBytes { _ = inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address an IPv6 one carries (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`), if any.
    var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
        let nat64 = bytes[0..<12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0][...]
        return mapped || nat64 ? IPAddress(bytes: Array(bytes[12..<16])) : nil
    }

    /// What kind of internal address this is, or `nil` for a public one.
    var internalKind: String? {
        if let embedded = embeddedIPv4 { return embedded.internalKind }
        if bytes.count == 4 {
            let (a, b) = (bytes[0], bytes[1])
            switch a {
            case 0: return "unspecified"
            case 127: return "loopback"
            case 10: return "private"
            case 172 where (16...31).contains(b): return "private"
            case 192 where b == 168: return "private"
            case 169 where b == 254: return "link-local, where cloud metadata lives"
            case 100 where (64...127).contains(b): return "shared address space"
            case 224...239: return "multicast"
            case 240...255: return "reserved"
            default: return nil
            }
        }
        if bytes.allSatisfy({ $0 == 0 }) { return "unspecified" }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return "loopback" }
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return "link-local" }
        if bytes[0] & 0xfe == 0xfc { return "private (unique local)" }
        if bytes[0] == 0xff { return "multicast" }
        return nil
    }
}

/// A CIDR block (`10.0.0.0/8`, `fd00::/8`) or one address.
struct AddressBlock: Sendable, Hashable {
    let base: IPAddress
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let base = IPAddress(String(parts[0])) else { return nil }
        let bits = base.bytes.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix) else { return nil }
            self.prefix = prefix
        } else {
            self.prefix = bits
        }
        self.base = base
    }

    func contains(_ address: IPAddress) -> Bool {
        let candidate = address.bytes.count == base.bytes.count ? address : address.embeddedIPv4
        guard let candidate, candidate.bytes.count == base.bytes.count else { return false }
        var remaining = prefix
        for (left, right) in zip(base.bytes, candidate.bytes) where remaining > 0 {
            let bits = min(remaining, 8)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if left & mask != right & mask { return false }
            remaining -= bits
        }
        return true
    }
}
