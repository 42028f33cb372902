import APMCore
import APMStorage

/// Group commit: batches that arrive while the store's commits are all busy wait and are committed together in the
/// next one. Every batch is durable before its caller is answered, and the cost of a commit (an fsync, the upserts
/// of shared minute rows) is shared by its whole group. A store that lets commits run side by side
/// (``APMStore/concurrentCommits``, PostgreSQL) gets that many at once; SQLite gets one.
actor IngestPipeline {
    private typealias Waiter = (item: IngestItem, continuation: CheckedContinuation<IngestOutcome, any Error>)

    private let store: any APMStore
    private let limits: CardinalityLimits
    private let maxGroupSize: Int
    private let maxQueued: Int
    private let maxConcurrentCommits: Int
    private var queue: [Waiter] = []
    /// Batches in the commits in progress.
    private var committing = 0
    /// Commits in progress.
    private var running = 0

    init(store: any APMStore, limits: CardinalityLimits, maxQueued: Int = 4096, maxGroupSize: Int = 256) {
        self.store = store
        self.limits = limits
        self.maxQueued = maxQueued
        self.maxGroupSize = maxGroupSize
        self.maxConcurrentCommits = max(1, store.concurrentCommits)
    }

    /// Batches waiting for a commit or in the commits in progress.
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
            startCommits()
        }
    }

    /// Starts commits for the waiting batches while the store has room for more.
    private func startCommits() {
        while !queue.isEmpty && running < maxConcurrentCommits {
            let group = Array(queue.prefix(maxGroupSize))
            queue.removeFirst(group.count)
            running += 1
            committing += group.count
            Task { await self.commit(group) }
        }
    }

    private func commit(_ group: [Waiter]) async {
        do {
            let outcomes = try await store.commit(group.map(\.item), limits: limits)
            for (waiter, outcome) in zip(group, outcomes) { waiter.continuation.resume(returning: outcome) }
        } catch {
            for waiter in group { waiter.continuation.resume(throwing: error) }
        }
        running -= 1
        committing -= group.count
        startCommits()
    }
}
