/// The apps of an account, their Apdex thresholds and the names they have under their caps.
public protocol AppStore: Sendable {
    /// An account's apps.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Apps by name.
    func apps(accountID: Int64) async throws -> [StoredApp]

    /// One app of an account.
    ///
    /// - Parameters:
    ///   - accountID: The account; an app of another account is not returned.
    ///   - id: The app's id.
    /// - Returns: The app or `nil`.
    func app(accountID: Int64, id: Int64) async throws -> StoredApp?

    /// Sets the app's T, or a transaction's T (`nil` seconds removes a transaction's override).
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: A transaction name, or `nil` for the app.
    ///   - seconds: The T, or `nil` to remove a transaction override.
    func setApdex(appID: Int64, transaction: String?, seconds: Double?) async throws

    /// Names that overflowed the cardinality cap.
    ///
    /// - Parameter appID: The app.
    /// - Returns: Counts and examples.
    func nameOverflow(appID: Int64) async throws -> NameOverflow

    /// The transaction names the app ever recorded (admitted under the name cap), sorted.
    ///
    /// - Parameter appID: The app.
    /// - Returns: The names.
    func transactionNames(appID: Int64) async throws -> [String]
}
