import Foundation

extension CollectorConfiguration {
    /// Which store holds the data: SQLite in the data directory (one collector), or PostgreSQL (any number).
    public struct Storage: Sendable, Hashable {
        /// The backends.
        public enum Backend: String, Sendable, Hashable, CaseIterable {
            case sqlite
            case postgresql
        }
        /// `storage` / `APM_STORAGE`: `sqlite` or `postgresql`; empty (the default): PostgreSQL when
        /// `postgres_url` is set, else SQLite.
        public var backend: Backend?
        /// `postgres_url` / `APM_POSTGRES_URL` / `--postgres-url`, e.g.
        /// `postgres://apm:secret@db:5432/apm?sslmode=require`.
        public var postgresURL: String?
        /// `postgres_pool_size`, default 10: connections per collector.
        public var postgresPoolSize: Int = 10
        /// `store_timeout` / `APM_STORE_TIMEOUT`, default 10 s (1 to 300): how long one store operation may take.
        /// Past it the operation fails (ingest answers 503 with `Retry-After`, nothing acknowledged); on
        /// PostgreSQL its connection is closed and, until the server answers a probe again, every operation fails
        /// at once.
        public var timeout: Duration = .seconds(10)

        /// The backend in force.
        public var effectiveBackend: Backend { backend ?? (postgresURL == nil ? .sqlite : .postgresql) }

        /// The URL without its password.
        public var redactedURL: String? {
            guard let url = postgresURL, var components = URLComponents(string: url) else { return nil }
            if components.password != nil { components.password = "***" }
            return components.string
        }
    }
}
