import APMCore
import APMStorage

/// Group commit: batches that arrive while a commit is running wait and are committed together in the next
/// one. Every batch is durable before its caller is answered, and the cost of the commit (an fsync, the
/// upserts of shared minute rows) is shared by the whole group.
///
/// One commit at a time on PostgreSQL too, although its locks would allow several: measured with up to five
/// commits at once per collector, ingest fell from 203–213 to 144–171 batches/s and PostgreSQL's CPU per batch
/// more than doubled (smaller groups rewrite the same hour rows more often; docs/benchmarks.md).
actor IngestPipeline {
    private typealias Waiter = (item: IngestItem, continuation: CheckedContinuation<IngestOutcome, any Error>)

    private let store: any IngestStore
    private let limits: CardinalityLimits
    private let timeout: Duration
    private let maxGroupSize: Int
    private let maxQueued: Int
    private var queue: [Waiter] = []
    /// Batches of the commit in progress.
    private var committing = 0
    private var draining = false
    /// Since when a commit that passed its deadline has not returned: until it does, batches are refused at
    /// once rather than queued behind it.
    private var stalledSince: ContinuousClock.Instant?

    init(
        store: any IngestStore,
        limits: CardinalityLimits,
        timeout: Duration = .seconds(10),
        maxQueued: Int = 4096,
        maxGroupSize: Int = 256
    ) {
        self.store = store
        self.limits = limits
        self.timeout = timeout
        self.maxQueued = maxQueued
        self.maxGroupSize = maxGroupSize
    }

    /// Batches waiting for a commit or in the one in progress.
    var queued: Int { queue.count + committing }

    /// Commits one batch (with whatever else is waiting) and returns once it is durable.
    ///
    /// - Throws: A 503 ``APIError`` (with `Retry-After`) when ``maxQueued`` batches already wait: the store is
    ///   behind, and a longer queue would only make every agent wait past its timeout.
    func submit(_ item: IngestItem) async throws -> IngestOutcome {
        if let stalled = stalledError() { throw stalled }
        guard queued < maxQueued else {
            throw APIError.unavailable(
                "queue_full",
                retryAfter: 5,
                "\(maxQueued) batches are waiting for the store (max_queued_batches); retry shortly"
            )
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.append((item, continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let group = Array(queue.prefix(maxGroupSize))
            queue.removeFirst(group.count)
            if let stalled = stalledError() {
                for waiter in group { waiter.continuation.resume(throwing: stalled) }
                continue
            }
            committing = group.count
            defer { committing = 0 }
            do {
                let outcomes = try await commitWithinDeadline(group.map(\.item))
                for (waiter, outcome) in zip(group, outcomes) { waiter.continuation.resume(returning: outcome) }
            } catch {
                for waiter in group { waiter.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }

    /// Commits, or gives up a little after `store_timeout` (a store's own deadline, as PostgreSQL's, comes
    /// first): the queue never waits on a commit that does not return. Its batches are answered 503
    /// (unacknowledged, so their agents retry; should the commit land later, the retries are recognised by their
    /// batch ids), and until it returns, batches are refused at once.
    private func commitWithinDeadline(_ items: [IngestItem]) async throws -> [IngestOutcome] {
        let (store, limits) = (self.store, self.limits)
        let commit = Task { try await store.commit(items, limits: limits) }
        let deadline = timeout + .milliseconds(500)
        do {
            return try await Deadline.run(within: deadline, timedOut: CommitDeadlinePassed()) {
                try await commit.value
            }
        } catch is CommitDeadlinePassed {
            stalledSince = .now
            Task {
                _ = await commit.result
                self.commitReturned()
            }
            throw StoreError(.unavailable, "the store did not commit within \(deadline) (store_timeout)")
        }
    }

    private struct CommitDeadlinePassed: Error {}

    private func commitReturned() {
        stalledSince = nil
    }

    /// The answer while a commit that passed its deadline has not returned.
    private func stalledError() -> APIError? {
        guard let since = stalledSince else { return nil }
        let seconds = (ContinuousClock.now - since).components.seconds
        return APIError.unavailable(
            "store_stalled",
            retryAfter: 5,
            "a commit has not returned for \(seconds) s past store_timeout; the store is not answering, retry shortly"
        )
    }
}
