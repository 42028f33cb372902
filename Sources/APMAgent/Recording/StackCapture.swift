public import APMCore
import Foundation
import Synchronization

#if os(Linux) && canImport(Runtime)
import Runtime
#endif

/// A stack as captured on the error path: return addresses only (an unwind of the frame pointers: no symbol
/// lookup, no file read, no allocation beyond the frames), symbolicated later, at harvest, off the app's request
/// path (``StackSymbolicator``). Where Swift's Runtime module is missing, the platform's text symbols.
struct CapturedStack: Sendable {
    #if os(Linux) && canImport(Runtime)
    var backtrace: Backtrace?
    #endif
    var symbols: [String] = []
}

/// Stack frames for error samples. Only called on the error path.
enum StackCapture {
    static let maxFrames = 32

    #if os(Linux) && canImport(Runtime)
    /// The process's images, read once (from /proc/self/maps): given to each capture, which otherwise reads them
    /// again, 200 times the cost of the unwind itself. Symbolication reads them afresh, for libraries loaded since.
    static let images = ImageMap.capture()
    #endif

    static func current() -> CapturedStack {
        #if os(Linux) && canImport(Runtime)
        StackSymbolicator.shared.warmUp()
        // The frames of the capture itself and of noticeError are dropped at symbolication (the agent's own code).
        return CapturedStack(backtrace: try? Backtrace.capture(algorithm: .fast, limit: maxFrames + 8, images: images))
        #else
        // Drop the agent's own frames (capture, noticeError).
        return CapturedStack(symbols: Array(Thread.callStackSymbols.dropFirst(3).prefix(maxFrames)))
        #endif
    }
}

/// Turns captured stacks into frames with function, file and line, marked in-app or not, with a bounded cache
/// per address: a stack whose addresses were all seen before costs dictionary lookups, not a symbolication.
final class StackSymbolicator: Sendable {
    /// Addresses remembered (about 200 bytes each with their frames).
    static let maxCachedAddresses = 4096

    private let cache = Mutex([UInt64: [StackFrame]]())
    /// Whether the binary's symbol and line tables are parsed (``warmUp()``).
    private let warm = Atomic<Bool>(false)
    /// Whether the parse was started.
    private let warming = Atomic<Bool>(false)

    /// Starts parsing the symbol tables, once, on a thread of its own: the first parse of a large binary takes
    /// from a fifth of a second (release) to seconds (debug), which must hold up neither a request, nor a
    /// delivery, nor one of the app's few cooperative threads (a detached task would occupy one all along).
    func warmUp() {
        guard !warm.load(ordering: .relaxed),
            warming.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
        else { return }
        Thread.detachNewThread { [self] in
            #if os(Linux)
            // The lowest priority: the app's own threads come first while the tables are parsed.
            // (On Linux a nice value is per thread: who 0 is this thread alone.)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            #endif
            _ = self.symbolicate(StackCapture.current())
            self.warm.store(true, ordering: .releasing)
        }
    }

    /// Waits up to `limit` for the symbol tables whose parse an error started; `true` when they are ready.
    func waitUntilWarm(within limit: Duration) async -> Bool {
        guard warming.load(ordering: .relaxed) else { return warm.load(ordering: .acquiring) }
        let deadline = ContinuousClock.now + limit
        while !warm.load(ordering: .acquiring) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return warm.load(ordering: .acquiring)
    }

    /// Whether the symbol tables are ready.
    var isWarm: Bool { warm.load(ordering: .acquiring) }
    #if os(Linux) && canImport(Runtime)
    /// The image map symbolication reads symbols through: one for the process, so that each binary's symbol and
    /// line tables are parsed once (a fresh map parses them again: 217 ms against microseconds). A library loaded
    /// after it is not in it: its frames keep their addresses.
    private let images = StackCapture.images
    #endif

    /// The frames of a stack, innermost first, without the agent's own, at most ``StackCapture/maxFrames``.
    func frames(of stack: CapturedStack) -> [StackFrame] {
        symbolicate(stack)
    }

    private func symbolicate(_ stack: CapturedStack) -> [StackFrame] {
        #if os(Linux) && canImport(Runtime)
        guard let backtrace = stack.backtrace else { return [] }
        let addresses = backtrace.frames.compactMap(Self.address)
        let known = cache.withLock { cache in addresses.map { cache[$0] } }
        var resolved: [UInt64: [StackFrame]] = [:]
        if known.contains(where: { $0 == nil }),
            let symbolicated = backtrace.symbolicated(with: images)
        {
            for frame in symbolicated.frames {
                guard let address = Self.address(frame.captured) else { continue }
                resolved[address, default: []].append(Self.frame(frame))
            }
            cache.withLock { cache in
                for (address, frames) in resolved where cache[address] == nil {
                    if cache.count >= Self.maxCachedAddresses { cache.removeAll(keepingCapacity: true) }
                    cache[address] = frames
                }
            }
        }
        let frames = zip(addresses, known).flatMap { address, cached in cached ?? resolved[address] ?? [] }
        return Array(frames.filter { !Self.isAgentFrame($0) }.prefix(StackCapture.maxFrames))
        #else
        return []
        #endif
    }

    /// The text stack of a sample: `function at file:line` per frame, or the platform's symbols, or (symbol
    /// tables not ready) the return addresses.
    func text(of stack: CapturedStack, frames: [StackFrame]) -> [String] {
        guard frames.isEmpty else { return frames.map(\.text) }
        #if os(Linux) && canImport(Runtime)
        if let backtrace = stack.backtrace {
            return backtrace.frames.compactMap(Self.address).prefix(StackCapture.maxFrames).map {
                "0x" + String($0, radix: 16)
            }
        }
        #endif
        return stack.symbols
    }

    #if os(Linux) && canImport(Runtime)
    private static func address(_ frame: Backtrace.Frame) -> UInt64? {
        switch frame {
        case .programCounter, .returnAddress, .asyncResumePoint:
            return UInt64(frame.adjustedProgramCounter)
        default: return nil
        }
    }

    private static func frame(_ frame: SymbolicatedBacktrace.Frame) -> StackFrame {
        guard let symbol = frame.symbol else {
            return StackFrame(
                function: frame.captured.adjustedProgramCounter.description,
                file: "",
                line: 0,
                inApp: false
            )
        }
        let file = symbol.sourceLocation?.path ?? ""
        return StackFrame(
            function: String(symbol.name.prefix(512)),
            file: String(file.suffix(256)),
            line: symbol.sourceLocation?.line ?? 0,
            inApp: isInApp(file: file) && !symbol.isSystemFunction && !symbol.isSwiftThunk
        )
    }
    #endif

    /// The app's own code: a source file that is not a dependency's checkout, the toolchain's or the system's.
    static func isInApp(file: String) -> Bool {
        guard !file.isEmpty else { return false }
        let libraries = ["/checkouts/", "/swift/stdlib/", "/swift-corelibs-", "/swift-foundation/", "/usr/include/"]
        return !libraries.contains { file.contains($0) } && !file.hasPrefix("/opt/swift/")
    }

    /// The agent's own frames (the capture, noticeError): never shown.
    static func isAgentFrame(_ frame: StackFrame) -> Bool {
        frame.file.contains("/Sources/APMAgent/") || frame.function.hasPrefix("static Runtime.Backtrace.capture")
            || frame.function.contains("Backtrace.capture(")
    }
}

extension StackSymbolicator {
    /// The process-wide symbolicator of ``ErrorStack``.
    static let shared = StackSymbolicator()
}

/// The stack where an error was made, for an error type to carry: Swift errors have no stack, and the agent
/// would otherwise capture the stack where the error was noticed (a middleware, after the throw unwound).
///
/// ```swift
/// struct PaymentDeclined: Error, StackCarryingError {
///     let stack = ErrorStack()
/// }
/// ```
///
/// Capturing costs an unwind of the return addresses (no symbol lookup); the agent symbolicates at harvest.
public struct ErrorStack: Sendable {
    let captured: CapturedStack

    /// Captures the current stack.
    @inline(never)
    public init() {
        captured = StackCapture.current()
    }

    /// The frames, innermost first: function, file, line, in-app or not (cached per address, process-wide).
    public func frames() -> [StackFrame] {
        StackSymbolicator.shared.frames(of: captured)
    }

    /// The frames without the cache: what symbolicating addresses never seen before costs (for benchmarks).
    @_spi(Benchmarks)
    public func framesUncached() -> [StackFrame] {
        StackSymbolicator().frames(of: captured)
    }
}

/// An error that carries the stack where it was made (``ErrorStack``): noticed by the agent, its sample shows
/// that stack instead of the one where it was noticed.
public protocol StackCarryingError: Error {
    /// The stack where the error was made.
    var stack: ErrorStack { get }
}
