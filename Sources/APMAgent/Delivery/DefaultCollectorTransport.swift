import Foundation

/// The agent's transport: ``SocketCollectorTransport`` for `http://` collectors (waiting costs nothing) and
/// ``URLSessionCollectorTransport`` for `https://` ones (TLS and proxies through libcurl; note that while a request
/// to an unresponsive HTTPS collector is pending, libcurl keeps a dispatch thread busy: put a local collector, or a
/// TLS-terminating proxy on loopback, in front when that matters).
public final class DefaultCollectorTransport: CollectorTransport {
    private let plain = SocketCollectorTransport()
    private let secure = URLSessionCollectorTransport()

    /// Creates the transport.
    public init() {}

    /// Sends one request through the transport its URL's scheme calls for.
    ///
    /// - Parameter request: The request.
    /// - Returns: The response.
    /// - Throws: `URLError` on connection failures and timeouts.
    public func send(_ request: CollectorRequest) async throws -> CollectorResponse {
        if request.url.scheme?.lowercased() == "http" {
            return try await plain.send(request)
        }
        return try await secure.send(request)
    }
}
