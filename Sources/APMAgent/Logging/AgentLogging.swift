import Foundation
import Instrumentation
public import Logging
import Synchronization

/// The agent's own logger and the metadata provider that puts trace ids into the app's log lines.
public enum AgentLogging {
    /// A swift-log metadata provider adding `trace_id` and `span_id` of the active span to every log line:
    ///
    /// ```swift
    /// LoggingSystem.bootstrap(StreamLogHandler.standardOutput, metadataProvider: AgentLogging.traceMetadataProvider)
    /// ```
    public static let traceMetadataProvider = Logger.MetadataProvider {
        guard let ids = InstrumentationContext.current?.apmTraceIDs else { return [:] }
        return ["trace_id": "\(ids.traceID)", "span_id": "\(ids.spanID)"]
    }

    /// The logger the agent uses: the app's, unless `log_file` names `stderr`, `stdout` or a file.
    static func makeLogger(configuration: AgentConfiguration, fallback: Logger) -> Logger {
        switch configuration.logFile {
        case "":
            return fallback
        case "stderr":
            return Logger(label: fallback.label) { StreamLogHandler.standardError(label: $0) }
        case "stdout":
            return Logger(label: fallback.label) { StreamLogHandler.standardOutput(label: $0) }
        case let path:
            guard let handler = FileLogHandler(label: fallback.label, path: path) else {
                fallback.warning("apm: cannot open log_file \(path); logging through the app's logger instead")
                return fallback
            }
            return Logger(label: fallback.label) { _ in handler }
        }
    }
}

/// Appends log lines to a file. Only the agent's background work logs, never the record path.
struct FileLogHandler: LogHandler {
    final class Sink: Sendable {
        let handle: Mutex<FileHandle>
        init(_ handle: FileHandle) { self.handle = Mutex(handle) }
    }

    let label: String
    let sink: Sink
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init?(label: String, path: String) {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { return nil }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return nil }
        handle.seekToEndOfFile()
        self.label = label
        self.sink = Sink(handle)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let timestamp = ISO8601DateFormatter().string(from: Date())
        let line = "\(timestamp) \(event.level) \(label): \(event.message)\n"
        sink.handle.withLock { $0.write(Data(line.utf8)) }
    }
}
