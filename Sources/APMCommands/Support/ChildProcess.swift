import APMCore
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a child ended.
struct ChildStatus {
    /// The exit status, when it exited.
    var exitStatus: Int32?
    /// The signal, when one killed it.
    var signal: Int32?
    /// The stop signal (SIGTERM, SIGINT, ...) run-program forwarded to it before it ended, if any: then its end,
    /// whatever its status, is a stop that was asked for, not a crash.
    var stopRequested: Int32?
    /// When the first stop signal came (`DispatchTime` uptime nanoseconds), if one did.
    var stopRequestedAt: UInt64?

    /// How long ago the first stop signal came, if one did.
    var sinceStopRequested: Duration? {
        stopRequestedAt.map { .nanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- $0)) }
    }

    /// The status to exit with: the child's, or 128 + signal.
    var exitCode: Int32 { exitStatus ?? (128 + (signal ?? 0)) }
}

/// A child process in its own process group, with signals forwarded to it.
///
/// `@unchecked Sendable`: all stored properties are set before the object is shared; the dispatch signal
/// sources (not `Sendable`) are only cancelled, once, after the child has ended.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    let signalSources: [any DispatchSourceSignal]
    let ownsTerminal: Bool
    /// The last stop signal forwarded to the child.
    let forwarded: ForwardedSignal
    /// With `captureOutput`: the read ends of the child's stdout and stderr pipes (ours to read and close).
    let output: (stdout: Int32, stderr: Int32)?

    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private init(
        pid: pid_t,
        signalSources: [any DispatchSourceSignal],
        ownsTerminal: Bool,
        forwarded: ForwardedSignal,
        output: (stdout: Int32, stderr: Int32)?
    ) {
        self.pid = pid
        self.signalSources = signalSources
        self.ownsTerminal = ownsTerminal
        self.forwarded = forwarded
        self.output = output
    }

    /// Starts a program.
    ///
    /// - Parameters:
    ///   - program: Its path.
    ///   - arguments: Its arguments, the first being its name.
    ///   - environment: Its environment.
    ///   - captureOutput: Whether its stdout and stderr go to pipes that ``output`` reads (else it shares ours).
    static func spawn(
        program: String,
        arguments: [String],
        environment: [String: String],
        captureOutput: Bool = false
    ) throws -> ChildProcess {
        var attributes = posix_spawnattr_t()
        Self.prepare(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // Signals are forwarded from before the spawn (forwardSignals).
        let forwarded = ForwardedSignal()
        let sources = Self.forwardSignals(to: forwarded)
        var pipes: [[Int32]] = []
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if captureOutput {
            for target in [STDOUT_FILENO, STDERR_FILENO] {
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { throw POSIXError(.EMFILE) }
                // Ours (the read end) never leaks into another child.
                _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
                posix_spawn_file_actions_adddup2(&actions, ends[1], target)
                posix_spawn_file_actions_addclose(&actions, ends[1])
                pipes.append(ends)
            }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        for ends in pipes { close(ends[1]) }
        guard result == 0 else {
            for ends in pipes { close(ends[0]) }
            for source in sources { source.cancel() }
            throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL)
        }
        forwarded.child.store(pid, ordering: .releasing)
        let early = forwarded.pending.exchange(0, ordering: .acquiringAndReleasing)
        if early != 0 { kill(pid, early) }

        // Interactive: hand the terminal to the child's group, so Ctrl-C and reads reach it as usual.
        var ownsTerminal = false
        if isatty(STDIN_FILENO) == 1 {
            signal(SIGTTOU, SIG_IGN)
            ownsTerminal = tcsetpgrp(STDIN_FILENO, pid) == 0
        }
        return ChildProcess(
            pid: pid,
            signalSources: sources,
            ownsTerminal: ownsTerminal,
            forwarded: forwarded,
            output: pipes.count == 2 ? (pipes[0][0], pipes[1][0]) : nil
        )
    }

    /// Spawn attributes: its own process group, so that a signal sent to us is delivered to it once (by us),
    /// and default dispositions and an empty mask whatever ours are.
    private static func prepare(_ attributes: inout posix_spawnattr_t) {
        posix_spawnattr_init(&attributes)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        )
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in forwardedSignals + [SIGPIPE, SIGTTOU, SIGTTIN, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
    }

    /// The stop signals are ours to forward before the child exists: a SIGTERM that arrived between the spawn
    /// and the handlers used to end run-program by default and orphan the child (seen in a busy CI run). A
    /// signal that comes before the child's pid is known waits in `pending` and is sent right after.
    private static func forwardSignals(to forwarded: ForwardedSignal) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "apm.run-program.signals")
        return forwardedSignals.map { signalNumber -> any DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                forwarded.value.store(signalNumber, ordering: .relaxed)
                _ = forwarded.firstAt.compareExchange(
                    expected: 0,
                    desired: DispatchTime.now().uptimeNanoseconds,
                    ordering: .relaxed
                )
                let child = forwarded.child.load(ordering: .acquiring)
                if child != 0 {
                    kill(child, signalNumber)
                    return
                }
                forwarded.pending.store(signalNumber, ordering: .releasing)
                // The pid may have been published meanwhile: whoever takes the pending signal sends it.
                let now = forwarded.child.load(ordering: .acquiring)
                if now != 0, forwarded.pending.exchange(0, ordering: .acquiringAndReleasing) != 0 {
                    kill(now, signalNumber)
                }
            }
            source.resume()
            return source
        }
    }

    /// Stops the child as a forwarded signal would (its end is then a stop that was asked for).
    ///
    /// - Parameter signalNumber: The signal to send.
    func requestStop(_ signalNumber: Int32) {
        forwarded.value.store(signalNumber, ordering: .relaxed)
        _ = forwarded.firstAt.compareExchange(
            expected: 0,
            desired: DispatchTime.now().uptimeNanoseconds,
            ordering: .relaxed
        )
        kill(pid, signalNumber)
    }

    /// Waits for the child to end (on a thread of its own: `waitpid` blocks).
    func wait() async -> ChildStatus {
        let pid = self.pid
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
        if ownsTerminal { tcsetpgrp(STDIN_FILENO, getpgrp()) }
        for source in signalSources { source.cancel() }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let stop = forwarded.value.load(ordering: .relaxed)
        let requested: Int32? = stop == 0 ? nil : stop
        let at = forwarded.firstAt.load(ordering: .relaxed)
        let exited = status & 0x7f == 0
        return ChildStatus(
            exitStatus: exited ? (status >> 8) & 0xff : nil,
            signal: exited ? nil : status & 0x7f,
            stopRequested: requested,
            stopRequestedAt: at == 0 ? nil : at
        )
    }
}

/// The stop signal the signal handlers last forwarded to the child, 0 for none; the child's pid once spawned
/// (0 before), and a signal that came before it.
final class ForwardedSignal: Sendable {
    let value = Atomic<Int32>(0)
    let child = Atomic<Int32>(0)
    let pending = Atomic<Int32>(0)
    /// When the first stop signal came (uptime nanoseconds), 0 before.
    let firstAt = Atomic<UInt64>(0)
}
