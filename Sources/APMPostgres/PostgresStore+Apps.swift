public import APMStorage
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

extension PostgresStore {
    // MARK: Apps

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func apps(accountID: Int64) async throws -> [StoredApp] {
        try await transaction { [self] connection in
            try await self.apps(
                connection.rows("SELECT * FROM apps WHERE account_id = \(accountID) ORDER BY name", self.logger),
                connection: connection
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func app(accountID: Int64, id: Int64) async throws -> StoredApp? {
        try await transaction { [self] connection in
            try await self.apps(
                connection.rows("SELECT * FROM apps WHERE id = \(id) AND account_id = \(accountID)", self.logger),
                connection: connection
            ).first
        }
    }

    func app(_ connection: PostgresConnection, accountID: Int64, name: String) async throws -> StoredApp? {
        try await apps(
            connection.rows("SELECT * FROM apps WHERE account_id = \(accountID) AND name = \(name)", logger),
            connection: connection
        ).first
    }

    /// The apps of rows of `apps`, in their order, with their per-transaction Ts (one more query for all).
    func apps(_ rows: [PostgresRandomAccessRow], connection: PostgresConnection) async throws -> [StoredApp] {
        var apps = try rows.map { row in
            StoredApp(
                id: try row.get("id"),
                accountID: try row.get("account_id"),
                name: try row.get("name"),
                apdexT: try row.get("apdex_t"),
                transactionApdexT: [:],
                createdAt: try row.get("created_at"),
                lastSeenAt: try row.get("last_seen_at"),
                language: try row.get("language"),
                agentVersion: try row.get("agent_version")
            )
        }
        guard !apps.isEmpty else { return apps }
        let positions = Dictionary(apps.enumerated().map { ($0.element.id, $0.offset) }) { first, _ in first }
        for row in try await connection.rows(
            "SELECT app_id, name, apdex_t FROM transaction_apdex WHERE app_id = ANY(\(Array(positions.keys))::bigint[])",
            logger
        ) {
            guard let position = positions[try row.get("app_id", as: Int64.self)] else { continue }
            apps[position].transactionApdexT[try row.get("name", as: String.self)] = try row.get(
                "apdex_t",
                as: Double.self
            )
        }
        return apps
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func setApdex(appID: Int64, transaction: String?, seconds: Double?) async throws {
        switch (transaction, seconds) {
        case (nil, let seconds?):
            try await execute("UPDATE apps SET apdex_t = \(seconds) WHERE id = \(appID)")
        case (let name?, let seconds?):
            try await execute(
                """
                INSERT INTO transaction_apdex (app_id, name, apdex_t) VALUES (\(appID), \(name), \(seconds))
                ON CONFLICT (app_id, name) DO UPDATE SET apdex_t = excluded.apdex_t
                """
            )
        case (let name?, nil):
            try await execute("DELETE FROM transaction_apdex WHERE app_id = \(appID) AND name = \(name)")
        case (nil, nil):
            break
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func nameOverflow(appID: Int64) async throws -> NameOverflow {
        let row = try await rows("SELECT overflow_transactions, overflow_segments FROM apps WHERE id = \(appID)").first
        let examples = try await rows(
            "SELECT name FROM name_overflow_examples WHERE app_id = \(appID) ORDER BY first_seen, name LIMIT 20"
        ).map { try $0.get("name", as: String.self) }
        return NameOverflow(
            transactionCount: UInt64(clamping: try row?.get("overflow_transactions", as: Int64.self) ?? 0),
            segmentCount: UInt64(clamping: try row?.get("overflow_segments", as: Int64.self) ?? 0),
            examples: examples
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func transactionNames(appID: Int64) async throws -> [String] {
        // Bytes sort as SQLite sorts text.
        try await rows("SELECT name FROM app_names WHERE app_id = \(appID) AND kind = 0 ORDER BY name")
            .map { String(decoding: Data(bytesOf: try $0.get("name", as: ByteBuffer.self)), as: UTF8.self) }
    }

    // MARK: Deployments

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func recordDeployment(
        appID: Int64,
        at: Double,
        revision: String,
        description: String,
        user: String
    ) async throws -> Deployment {
        let id =
            try await rows(
                """
                INSERT INTO deployments (app_id, at, revision, description, "user")
                VALUES (\(appID), \(at), \(revision), \(description), \(user)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return Deployment(id: id, appID: appID, at: at, revision: revision, description: description, user: user)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deployments(appID: Int64, range: Range<Int64>) async throws -> [Deployment] {
        try await rows(
            """
            SELECT * FROM deployments WHERE app_id = \(appID) AND at >= \(Double(range.lowerBound))
                AND at < \(Double(range.upperBound)) ORDER BY at
            """
        ).map {
            Deployment(
                id: try $0.get("id"),
                appID: try $0.get("app_id"),
                at: try $0.get("at"),
                revision: try $0.get("revision"),
                description: try $0.get("description"),
                user: try $0.get("user")
            )
        }
    }
}
