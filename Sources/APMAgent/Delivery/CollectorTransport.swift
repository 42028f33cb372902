public import Foundation

/// One HTTP request to the collector.
public struct CollectorRequest: Sendable {
    /// The HTTP method: `POST` for data, `GET` for the app's settings.
    public var method: String
    /// The full URL.
    public var url: URL
    /// Header fields.
    public var headers: [String: String]
    /// The (gzip) body.
    public var body: Data
    /// How long the whole exchange may take.
    public var timeout: Duration

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - url: The URL.
    ///   - headers: Header fields.
    ///   - body: The body.
    ///   - timeout: The time limit.
    ///   - method: The HTTP method.
    public init(url: URL, headers: [String: String], body: Data, timeout: Duration, method: String = "POST") {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// The collector's HTTP response.
public struct CollectorResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields, names lower-cased.
    public var headers: [String: String]
    /// The body.
    public var body: Data

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - status: The status code.
    ///   - headers: Header fields (names are lower-cased).
    ///   - body: The body.
    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        self.body = body
    }
}

/// How the agent talks HTTP to the collector. The default is ``URLSessionCollectorTransport`` (libcurl);
/// tests swap in their own.
public protocol CollectorTransport: Sendable {
    /// Sends one request and returns the response; throws on connection errors and timeouts.
    ///
    /// - Parameter request: The request.
    /// - Returns: The response, whatever its status.
    func send(_ request: CollectorRequest) async throws -> CollectorResponse
}
