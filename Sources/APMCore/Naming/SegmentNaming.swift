/// The names segment metrics are shown under, shared by the agent and the collector's OTLP ingest so that
/// the same call is named the same way whichever way it arrived.
public enum SegmentNaming {
    /// `Postgres SELECT users`, `External api.example.com`, or a custom segment's own name.
    ///
    /// - Parameters:
    ///   - category: The segment's category.
    ///   - system: The datastore system (`postgresql`) or, for externals, the HTTP method.
    ///   - operation: The datastore operation, the external host, or the custom segment's name.
    ///   - target: The datastore table.
    /// - Returns: The display name.
    public static func name(category: SegmentCategory, system: String, operation: String, target: String) -> String {
        switch category {
        case .datastore:
            return [productName(system), operation.isEmpty ? "other" : operation, target].filter { !$0.isEmpty }
                .joined(separator: " ")
        case .external:
            return "External \(operation.isEmpty ? "unknown" : operation)"
        case .custom:
            return operation.isEmpty ? "Custom" : operation
        }
    }

    /// The product name of a datastore system as users know it: `postgresql` is `Postgres`.
    ///
    /// - Parameter system: The `db.system.name` value.
    /// - Returns: The product name.
    public static func productName(_ system: String) -> String {
        switch system.lowercased() {
        case "postgresql", "postgres": "Postgres"
        case "mysql": "MySQL"
        case "mariadb": "MariaDB"
        case "sqlite": "SQLite"
        case "redis": "Redis"
        case "mongodb": "MongoDB"
        case "memcached": "Memcached"
        case "cassandra": "Cassandra"
        case "elasticsearch": "Elasticsearch"
        case "": "Datastore"
        default: system
        }
    }
}
