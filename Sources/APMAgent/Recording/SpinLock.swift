import Synchronization

/// A minimal lock with separate `lock()` and `unlock()`, for state that must be modified in place through a
/// `_modify` accessor (which `Mutex.withLock` cannot wrap). Only for tiny, almost never contended sections:
/// it spins, then yields the thread.
struct SpinLock: ~Copyable, Sendable {
    private let locked = Atomic<Bool>(false)

    init() {}

    borrowing func lock() {
        var spins = 0
        while !locked.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            spins += 1
            if spins > 64 {
                sched_yield()
                spins = 0
            }
        }
    }

    borrowing func unlock() {
        locked.store(false, ordering: .releasing)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
