import APMAgent
import APMCore
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads one output pipe of a program under `apm run-program --forward-output`: every byte is copied to our own
/// stream unchanged and at once, and the lines become log records of the app (``OutputLogAssembler``), recorded
/// through an agent that delivers them like an app's own. A record still gathering is sent after half a second
/// without output, so a traceback does not wait for the next line.
final class OutputForwarder: Sendable {
    private let done = DispatchSemaphore(value: 0)

    /// Starts reading `pipe` on a thread of its own.
    ///
    /// - Parameters:
    ///   - pipe: The read end (closed at its end of file).
    ///   - echo: Where the bytes are copied (our stdout or stderr).
    ///   - stream: `stdout` or `stderr`, kept as the records' `stream` attribute.
    ///   - defaultLevel: The level of records that name none.
    ///   - agent: Where the records go.
    init(pipe: Int32, echo: Int32, stream: String, defaultLevel: LogLevel, agent: APMAgent) {
        let done = self.done
        Thread.detachNewThread {
            var assembler = OutputLogAssembler(defaultLevel: defaultLevel)
            let attributes = ["stream": stream, "source": "apm run-program"]
            func send(_ record: OutputLogAssembler.Record?) {
                guard let record else { return }
                agent.recordLog(record.level, record.message, attributes: attributes)
            }
            var partial: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                var poller = pollfd(fd: pipe, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, 500)
                if ready == 0 {
                    send(assembler.flush())
                    continue
                }
                if ready < 0 && errno == EINTR { continue }
                let count = read(pipe, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                Self.write(buffer, count: count, to: echo)
                partial.append(contentsOf: buffer[0..<count])
                while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                    send(assembler.add(Self.line(partial[..<newline])))
                    partial.removeSubrange(...newline)
                }
                if partial.count > OutputLogAssembler.maxLineBytes {
                    send(assembler.add(Self.line(partial[...])))
                    partial.removeAll()
                }
            }
            if !partial.isEmpty { send(assembler.add(Self.line(partial[...]))) }
            send(assembler.flush())
            close(pipe)
            done.signal()
        }
    }

    /// Waits until the pipe reached its end (the program and whatever inherited its output closed it), at most
    /// `timeout`: a daemon the program left behind may keep it open.
    func wait(timeout: Duration) {
        let nanoseconds =
            UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        _ = done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
    }

    /// A line's text: invalid UTF-8 repaired, a carriage return before the newline dropped.
    private static func line(_ bytes: ArraySlice<UInt8>) -> String {
        var bytes = bytes
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func write(_ buffer: [UInt8], count: Int, to descriptor: Int32) {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
