/// Segments around a block: started before it, ended when it returns or throws, so that no path forgets `end()`.
/// An error thrown by the block marks the segment failed and is rethrown as it is; whether it fails the
/// transaction stays the app's call (``Transaction/noticeError(_:)``), as with a segment ended by hand.
extension Transaction {
    /// Times a block of the app's own code as a custom segment.
    ///
    /// - Parameters:
    ///   - name: The segment's name, e.g. `render invoice`.
    ///   - parent: The enclosing segment, `nil` for a direct child of the transaction.
    ///   - body: The block; it gets the segment (for child segments).
    /// - Returns: What the block returns.
    public func withSegment<Result, Failure: Error>(
        _ name: String,
        parent: Segment? = nil,
        _ body: (Segment) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try startSegment(name, parent: parent).ending(after: body)
    }

    /// Times an asynchronous block of the app's own code as a custom segment.
    ///
    /// - Parameters:
    ///   - name: The segment's name.
    ///   - parent: The enclosing segment, `nil` for a direct child of the transaction.
    ///   - isolation: Where the block runs (the caller's actor).
    ///   - body: The block; it gets the segment.
    /// - Returns: What the block returns.
    public func withSegment<Result, Failure: Error>(
        _ name: String,
        parent: Segment? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Segment) async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        try await startSegment(name, parent: parent).ending(isolation: isolation, after: body)
    }

    /// Times a database or cache call. See ``startDatastoreSegment(system:operation:table:statement:parent:)``.
    ///
    /// - Parameters:
    ///   - system: The database system: `postgresql`, `mysql`, `sqlite`, `redis`, ...
    ///   - operation: The operation; derived from `statement` when empty.
    ///   - table: The table, empty when unknown.
    ///   - statement: The statement.
    ///   - parent: The enclosing segment.
    ///   - isolation: Where the block runs.
    ///   - body: The call.
    /// - Returns: What the call returns.
    public func withDatastoreSegment<Result, Failure: Error>(
        system: String,
        operation: String = "",
        table: String = "",
        statement: String = "",
        parent: Segment? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Segment) async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        try await startDatastoreSegment(
            system: system,
            operation: operation,
            table: table,
            statement: statement,
            parent: parent
        )
        .ending(isolation: isolation, after: body)
    }

    /// Times an outgoing HTTP call. See ``startExternalSegment(host:method:url:parent:)``. The block records the
    /// status it received with ``Segment/setStatus(_:)``.
    ///
    /// - Parameters:
    ///   - host: The host called.
    ///   - method: The HTTP method.
    ///   - url: The URL; its query string is never stored.
    ///   - parent: The enclosing segment.
    ///   - isolation: Where the block runs.
    ///   - body: The call.
    /// - Returns: What the call returns.
    public func withExternalSegment<Result, Failure: Error>(
        host: String,
        method: String = "GET",
        url: String = "",
        parent: Segment? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Segment) async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        try await startExternalSegment(host: host, method: method, url: url, parent: parent)
            .ending(isolation: isolation, after: body)
    }
}

extension Segment {
    /// Runs `body`, then ends the segment; a thrown error marks it failed first.
    func ending<Result, Failure: Error>(after body: (Segment) throws(Failure) -> Result) throws(Failure) -> Result {
        do {
            let result = try body(self)
            end()
            return result
        } catch {
            markFailed()
            end()
            throw error
        }
    }

    /// Runs `body` where the caller runs, then ends the segment; a thrown error marks it failed first.
    func ending<Result, Failure: Error>(
        isolation: isolated (any Actor)?,
        after body: (Segment) async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        do {
            let result = try await body(self)
            end()
            return result
        } catch {
            markFailed()
            end()
            throw error
        }
    }
}
