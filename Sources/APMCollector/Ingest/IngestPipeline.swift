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

    private let store: any APMStore
    private let limits: CardinalityLimits
    private let maxGroupSize: Int
    private let maxQueued: Int
    private var queue: [Waiter] = []
    /// Batches of the commit in progress.
    private var committing = 0
    private var draining = false

    init(store: any APMStore, limits: CardinalityLimits, maxQueued: Int = 4096, maxGroupSize: Int = 256) {
        self.store = store
        self.limits = limits
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
            committing = group.count
            defer { committing = 0 }
            do {
                let outcomes = try await store.commit(group.map(\.item), limits: limits)
                for (waiter, outcome) in zip(group, outcomes) { waiter.continuation.resume(returning: outcome) }
            } catch {
                for waiter in group { waiter.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}
