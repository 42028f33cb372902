import APMStorage
import Foundation

/// Where and how the PostgreSQL store connects: `postgres_url` in collector.ini, `APM_POSTGRES_URL` or
/// `--postgres-url`, e.g. `postgres://apm:secret@db.internal:5432/apm?sslmode=require`.
public struct PostgresStoreConfiguration: Sendable, Hashable {
    /// How the connection uses TLS (`sslmode` in the URL, as libpq spells it).
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Never (loopback, or a private network you trust).
        case disable
        /// When the server offers it.
        case prefer
        /// Always; the server's certificate is verified against the system's roots.
        case require
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port (5432 unless the URL names one).
    public var port: Int
    /// The role to connect as.
    public var username: String
    /// Its password, if the URL has one (never logged).
    public var password: String?
    /// The database (created beforehand; the collector creates its tables).
    public var database: String
    /// How the connection uses TLS.
    public var tls: TLSMode
    /// Connections per collector (`pool_size`, default 10).
    public var poolSize: Int
    /// How long one operation may take (`store_timeout`, default 10 s): past it the operation fails as
    /// `unavailable` (ingest answers 503), its connection is closed, and the server is probed until it answers.
    public var operationTimeout: Duration = .seconds(10)
    /// How long the first use may wait for the server to answer and the migrations to finish (30 s): past it the
    /// collector says the server does not answer instead of waiting without a word.
    public var startupTimeout: Duration = .seconds(30)

    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// - Parameters:
    ///   - url: The URL; `sslmode` (disable, prefer, require) may be given as a query item.
    ///   - poolSize: Connections per collector.
    /// - Throws: ``StoreError`` naming what is wrong and how to write it.
    public init(url: String, poolSize: Int = 10) throws {
        let example = "postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=prefer"
        guard let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme)
        else {
            throw StoreError(.configuration, "the PostgreSQL URL must start with postgres:// (as in \(example))")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError(.configuration, "the PostgreSQL URL names no host (write it as \(example))")
        }
        guard let username = components.user, !username.isEmpty else {
            throw StoreError(.configuration, "the PostgreSQL URL names no user (write it as \(example))")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw StoreError(.configuration, "the PostgreSQL URL names no database (write it as \(example))")
        }
        guard (1...1000).contains(poolSize) else {
            throw StoreError(.configuration, "pool_size \(poolSize) is out of range: use 1 to 1000 (default 10)")
        }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: item.value ?? "") else {
                    throw StoreError(
                        .configuration,
                        "sslmode=\(item.value ?? "") in the PostgreSQL URL is not one of disable, prefer, require"
                    )
                }
                tls = mode
            default:
                throw StoreError(
                    .configuration,
                    "the PostgreSQL URL has an unknown parameter \"\(item.name)\"; only sslmode (disable, prefer, require) is read"
                )
            }
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.tls = tls
        self.poolSize = poolSize
    }

    /// The URL without its password, for logs and messages.
    public var redactedDescription: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }
}
