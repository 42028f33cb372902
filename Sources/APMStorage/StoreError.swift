/// A store refused an operation for a reason the caller can report (not a database failure).
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal; compare against the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case appLimit = "app limit"
            case diskFull = "disk full"
            case dataDirectoryNotEmpty = "data directory not empty"
            case configuration = "configuration"
            case unavailable = "unavailable"
            case damaged = "damaged"
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The account has as many apps as `max_apps` allows.
        public static let appLimit = Code(.appLimit)
        /// The disk (or file system quota) is full.
        public static let diskFull = Code(.diskFull)
        /// The data directory holds files but no account: it must not be set up afresh over them.
        public static let dataDirectoryNotEmpty = Code(.dataDirectoryNotEmpty)

        /// The store's settings are wrong (a malformed PostgreSQL URL, ...).
        public static let configuration = Code(.configuration)
        /// The database server cannot be reached or refused the connection.
        public static let unavailable = Code(.unavailable)
        /// The database file is damaged (a page that is not what SQLite wrote): restore it from a backup.
        public static let damaged = Code(.damaged)

        /// The code's name.
        public var description: String { kind.rawValue }
    }

    /// What kind of refusal.
    public var code: Code
    /// What happened and what to do.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind.
    ///   - message: What happened and what to do.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
