import HTTPTypes
import Hummingbird

/// What every response gets, and the Host check: a page on another site that makes its own name resolve to
/// 127.0.0.1 (DNS rebinding) must not reach a loopback collector's sign-in form or `/metrics`. Requests naming a
/// host the collector does not answer to get 421; every response says `X-Content-Type-Options: nosniff`.
struct SecurityMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Host names accepted (lower case, without port); `nil` accepts any (a collector bound to every interface
    /// with no `allowed_hosts` configured).
    let allowedHosts: Set<String>?

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        // RFC 9112 §3.2: exactly one Host, a host and an optional port (an absolute-form target's authority has
        // been put there by ``RequestTargetHostHandler``).
        guard let authority = request.head.authority, Self.isValidAuthority(authority) else {
            throw APIError(
                .badRequest,
                code: "bad_host",
                message: request.head.authority == nil
                    ? "the request has no Host header"
                    : "the Host header is not a host name or address with an optional port"
            )
        }
        guard request.headers[values: HTTPField.Name("Host")!].isEmpty else {
            throw APIError(.badRequest, code: "bad_host", message: "the request has more than one Host header")
        }
        if let allowedHosts {
            let host = Self.hostName(authority)
            guard allowedHosts.contains(host) else {
                throw APIError(
                    HTTPResponse.Status(code: 421, reasonPhrase: "Misdirected Request"),
                    code: "host_not_allowed",
                    message:
                        "this collector does not answer to the host \\(host.prefix(100)); add it to allowed_hosts in collector.ini"
                )
            }
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return response
    }

    /// Whether `authority` is `host[:port]`: a registered name (letters, digits, `-`, `.`, `_`), an IPv4 address or
    /// a bracketed IPv6 address, and digits after the colon. No user information, path or spaces.
    static func isValidAuthority(_ authority: String) -> Bool {
        guard !authority.isEmpty, authority.utf8.count <= 300 else { return false }
        var host = Substring(authority)
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let end = authority.firstIndex(of: "]") else { return false }
            let inside = authority[authority.index(after: authority.startIndex)..<end]
            guard !inside.isEmpty, inside.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
            let after = authority[authority.index(after: end)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                port = after.dropFirst()
            }
            host = inside
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
            }
            guard !host.isEmpty,
                host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) })
            else { return false }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) else {
                return false
            }
        }
        return true
    }

    /// The host of an authority, lower case, without port (`[::1]:7070` → `::1`).
    static func hostName(_ authority: String) -> String {
        let lower = authority.lowercased()
        if lower.hasPrefix("["), let end = lower.firstIndex(of: "]") {
            return String(lower[lower.index(after: lower.startIndex)..<end])
        }
        if let colon = lower.lastIndex(of: ":"), lower.filter({ $0 == ":" }).count == 1 {
            return String(lower[..<colon])
        }
        return lower
    }

    /// The hosts a collector answers to: loopback names, the address it listens on (unless every interface), and
    /// `allowed_hosts`; `nil` (any) when it listens on every interface and no `allowed_hosts` are set.
    static func allowedHosts(listenHost: String, configured: [String]) -> Set<String>? {
        let wildcard = ["0.0.0.0", "::", "*", ""].contains(listenHost)
        if wildcard && configured.isEmpty { return nil }
        var hosts: Set<String> = ["localhost", "127.0.0.1", "::1"]
        if !wildcard { hosts.insert(listenHost.lowercased()) }
        for host in configured { hosts.insert(host.lowercased()) }
        return hosts
    }
}
