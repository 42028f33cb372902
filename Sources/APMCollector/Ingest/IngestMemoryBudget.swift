import Synchronization

/// The memory all ingest requests may hold together: bodies as received, inflated, and parsed. A request reserves
/// what it is about to allocate before it allocates it, and gives it all back when it is answered; a reservation
/// that does not fit is refused, and the request answered 503 with `Retry-After`, so that ten gzip bombs at once
/// cost the collector this budget and no more (`ingest_memory_mb`, default 512).
final class IngestMemoryBudget: Sendable {
    /// The budget in bytes.
    let capacity: Int
    private let used = Mutex(0)

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Bytes reserved now, by all requests.
    var inUse: Int { used.withLock { $0 } }

    func tryReserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes <= capacity - used else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        used.withLock { $0 -= bytes }
    }

    /// One request's share: reserves as the request grows, and releases everything at once.
    final class Reservation {
        private let budget: IngestMemoryBudget
        private(set) var held = 0

        init(_ budget: IngestMemoryBudget) {
            self.budget = budget
        }

        /// Reserves more for this request.
        ///
        /// - Parameter bytes: What the request is about to allocate.
        /// - Throws: A 503 ``APIError`` when the collector-wide budget has no room.
        func reserve(_ bytes: Int) throws {
            guard bytes > 0 else { return }
            guard budget.tryReserve(bytes) else {
                throw APIError.unavailable(
                    "overloaded",
                    retryAfter: 2,
                    "the collector is holding \(budget.capacity / 1_048_576) MiB of requests (ingest_memory_mb); retry shortly"
                )
            }
            held += bytes
        }

        /// Gives back what this request holds.
        func releaseAll() {
            budget.release(held)
            held = 0
        }
    }
}
