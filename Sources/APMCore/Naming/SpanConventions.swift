import Foundation

/// The OpenTelemetry semantic-convention attributes swift-apm reads from a span (current names and the older
/// ones still sent by many instrumentations), and the rules that turn a span into a transaction name or a
/// segment. The agent's tracer and the collector's OTLP ingest both use them, so a call is named and classified
/// the same way whichever way it arrived.
public struct SpanConventions: Sendable, Hashable, Codable {
    /// `http.request.method` (`http.method`).
    public var httpMethod: String?
    /// `http.route`.
    public var httpRoute: String?
    /// `http.response.status_code` (`http.status_code`).
    public var httpStatus: Int?
    /// `url.path` (`http.target`).
    public var urlPath: String?
    /// `url.full` (`http.url`).
    public var urlFull: String?
    /// `server.address` (`net.peer.name`).
    public var serverAddress: String?
    /// `db.system.name` (`db.system`).
    public var dbSystem: String?
    /// `db.query.text` (`db.statement`).
    public var dbStatement: String?
    /// `db.operation.name` (`db.operation`).
    public var dbOperation: String?
    /// `db.collection.name` (`db.sql.table`).
    public var dbTable: String?

    /// No attributes read yet.
    public init() {}

    /// Reads one attribute, in one pass over a span's attributes (comparing keys instead of hashing one lookup
    /// per convention name). The value is converted only for the keys used; a current name wins over an older
    /// one whichever comes first.
    ///
    /// - Parameters:
    ///   - key: The attribute's key.
    ///   - string: Its value as text.
    ///   - integer: Its value as an integer, if it is one.
    public mutating func read(_ key: String, string: () -> String?, integer: () -> Int?) {
        switch key {
        case "http.request.method": httpMethod = string()
        case "http.method": httpMethod = httpMethod ?? string()
        case "http.route": httpRoute = string()
        case "http.response.status_code": httpStatus = integer()
        case "http.status_code": httpStatus = httpStatus ?? integer()
        case "url.path": urlPath = string()
        case "http.target": urlPath = urlPath ?? string()
        case "url.full": urlFull = string()
        case "http.url": urlFull = urlFull ?? string()
        case "server.address": serverAddress = string()
        case "net.peer.name": serverAddress = serverAddress ?? string()
        case "db.system.name": dbSystem = string()
        case "db.system": dbSystem = dbSystem ?? string()
        case "db.query.text": dbStatement = string()
        case "db.statement": dbStatement = dbStatement ?? string()
        case "db.operation.name": dbOperation = string()
        case "db.operation": dbOperation = dbOperation ?? string()
        case "db.collection.name": dbTable = string()
        case "db.sql.table": dbTable = dbTable ?? string()
        default: break
        }
    }

    /// The conventions read from text attributes.
    ///
    /// - Parameter attributes: Attribute values as text.
    public init(_ attributes: [String: String]) {
        self.init()
        for (key, value) in attributes { read(key, string: { value }, integer: { Int(value) }) }
    }

    /// A web transaction's name: `METHOD <http.route>`. An HTTP server span without a route (a 404 for a
    /// scanner's `/wp-login.php`, which Flask names `GET /wp-login.php` and Hummingbird `HTTP GET route not
    /// found`) is `METHOD (unrouted)`: its name is built from the raw path, whose cardinality the client
    /// chooses. A server span that is not HTTP (no method: gRPC, ...) keeps its name unless that is the path.
    /// Not yet normalised or truncated.
    ///
    /// - Parameter spanName: The span's name.
    /// - Returns: The name.
    public func webTransactionName(spanName: String) -> String {
        let method = httpMethod ?? ""
        if let route = httpRoute, !route.isEmpty { return method.isEmpty ? route : "\(method) \(route)" }
        if !method.isEmpty { return "\(method) (unrouted)" }
        if spanName.isEmpty || spanName == urlPath { return "(unrouted)" }
        return spanName
    }

    /// What a span below a transaction is: a datastore segment when it names a database system, an external
    /// segment when it is a client span with an HTTP method, otherwise a custom segment named by the span.
    public struct Segment: Sendable, Hashable {
        /// The category.
        public var category: SegmentCategory
        /// Database system, or HTTP method for externals.
        public var system: String
        /// Database operation, external host, or the custom segment's name.
        public var operation: String
        /// Database table.
        public var target: String
        /// The raw statement (obfuscate before keeping it).
        public var statement: String
        /// The raw URL (strip the query before keeping it).
        public var url: String
    }

    /// Classifies a span below a transaction.
    ///
    /// - Parameters:
    ///   - spanName: The span's name.
    ///   - isClient: Whether the span's kind is client.
    /// - Returns: The segment.
    public func segment(spanName: String, isClient: Bool) -> Segment {
        if let system = dbSystem {
            let statement = dbStatement ?? ""
            return Segment(
                category: .datastore,
                system: system,
                operation: dbOperation ?? (statement.isEmpty ? spanName : SQLStatementSummary.operation(of: statement)),
                target: dbTable ?? (statement.isEmpty ? "" : SQLStatementSummary.table(of: statement)),
                statement: statement,
                url: ""
            )
        }
        if isClient, let method = httpMethod {
            let url = urlFull ?? ""
            return Segment(
                category: .external,
                system: method,
                operation: serverAddress ?? Self.host(of: url) ?? "unknown",
                target: "",
                statement: "",
                url: url
            )
        }
        return Segment(category: .custom, system: "", operation: spanName, target: "", statement: "", url: "")
    }

    /// A URL as it may be stored: without user information (`user:password@`), query and fragment, which may
    /// hold credentials and personal data; at most 2,048 bytes.
    ///
    /// - Parameter url: The URL as recorded.
    /// - Returns: `scheme://host[:port]/path`, or the path alone for a relative URL.
    public static func safeURL(_ url: String) -> String {
        var text = Substring(url)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<cut] }
        if let schemeEnd = text.range(of: "://") {
            let rest = text[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                text = text[..<schemeEnd.upperBound] + rest[rest.index(after: at)...]
            }
        }
        var result = String(text)
        if result.utf8.count > 2048 { result = String(result.utf8.prefix(2048)) ?? String(result.prefix(512)) }
        return result
    }

    /// The host of a URL (`https://user@[::1]:8443/x` gives `::1`), or `nil` without a scheme.
    ///
    /// - Parameter url: The URL.
    /// - Returns: The host.
    public static func host(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last ?? authority
        if hostPort.hasPrefix("[") { return hostPort.split(separator: "]").first.map { String($0.dropFirst()) } }
        return hostPort.split(separator: ":").first.map(String.init)
    }
}
