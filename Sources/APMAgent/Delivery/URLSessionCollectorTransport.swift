import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The default transport: Foundation's `URLSession`, which on Linux is libcurl (`libcurl4-openssl-dev` at
/// build time): TLS, proxies (`https_proxy`) and HTTP/2 come with it, and nothing extra is compiled into the app.
package final class URLSessionCollectorTransport: CollectorTransport {
    private let session: URLSession

    /// Creates a transport with an ephemeral session (no cookies, no cache).
    package init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.httpMaximumConnectionsPerHost = 2
        self.session = URLSession(configuration: configuration)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Sends one request.
    ///
    /// - Parameter request: The request.
    /// - Returns: The response.
    /// - Throws: `URLError` on connection failures and timeouts.
    package func send(_ request: CollectorRequest) async throws -> CollectorResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        if !request.body.isEmpty { urlRequest.httpBody = request.body }
        let seconds = Double(request.timeout.components.seconds) + Double(request.timeout.components.attoseconds) / 1e18
        urlRequest.timeoutInterval = max(0.05, seconds)
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: urlRequest)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return CollectorResponse(status: http.statusCode, headers: headers, body: data)
    }
}
