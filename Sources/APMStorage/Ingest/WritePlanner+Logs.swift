package import APMCore
import Foundation

extension WritePlan {
    /// One log record as the stores keep it.
    package struct LogRow: Sendable, Hashable {
        package var appID: Int64
        package var timeUnixNano: Int64
        package var host: String
        package var level: LogLevel
        package var message: String
        /// The attributes as a JSON object (keys sorted), `{}` for none.
        package var attributes: String
        package var traceID: String
        package var spanID: String
        package var transaction: String
    }

    package struct LogCountKey: Sendable, Hashable {
        package var appID: Int64
        package var minute: Int64
        package var level: LogLevel

        package init(appID: Int64, minute: Int64, level: LogLevel) {
            self.appID = appID
            self.minute = minute
            self.level = level
        }
    }

    package struct LogVolumeKey: Sendable, Hashable {
        package var appID: Int64
        /// The day of receipt: Unix seconds of its midnight (UTC).
        package var day: Int64

        package init(appID: Int64, day: Int64) {
            self.appID = appID
            self.day = day
        }
    }

    package struct LogVolumeDelta: Sendable, Hashable {
        package var stored: UInt64 = 0
        package var droppedByCap: UInt64 = 0
        package var cut: UInt64 = 0
        package var droppedByAgent: UInt64 = 0

        package init() {}
    }
}

extension WritePlanner {
    /// The day (midnight UTC, Unix seconds) a receipt time falls in: the daily cap's unit.
    package static func logDay(_ receivedAt: Double) -> Int64 {
        let seconds = Int64(receivedAt)
        return seconds - ((seconds % 86_400) + 86_400) % 86_400
    }

    /// Adds a batch's log lines: past the app's daily cap they are counted, not stored; the others are repaired
    /// (NUL characters), scrubbed of secrets, cut to ``LogRecord/maxMessageBytes`` and counted per minute and level.
    func addLogs(
        _ batch: AgentBatch,
        appID: Int64,
        receivedAt: Double,
        storedToday: UInt64,
        to plan: inout WritePlan
    ) {
        guard !batch.logs.isEmpty || batch.dropped.logs > 0 else { return }
        let volumeKey = WritePlan.LogVolumeKey(appID: appID, day: Self.logDay(receivedAt))
        var volume = plan.logVolume[volumeKey] ?? WritePlan.LogVolumeDelta()
        volume.droppedByAgent = volume.droppedByAgent.addingSaturated(batch.dropped.logs)
        let cap = UInt64(max(limits.maxLogRecordsPerDay, 0))
        let room = cap > storedToday + volume.stored ? Int(min(cap - storedToday - volume.stored, UInt64(Int.max))) : 0
        let kept = batch.logs.prefix(room)
        volume.droppedByCap = volume.droppedByCap.addingSaturated(UInt64(batch.logs.count - kept.count))
        let host = batch.agent.host
        plan.logs.reserveCapacity(plan.logs.count + kept.count)
        for record in kept {
            let (message, wasCut) = LogRecord.cut(SecretScrubber.scrubbed(text: Self.withoutNUL(record.message)))
            if wasCut { volume.cut += 1 }
            plan.logs.append(
                WritePlan.LogRow(
                    appID: appID,
                    timeUnixNano: record.timeUnixNano,
                    host: host,
                    level: record.level,
                    message: message,
                    attributes: Self.attributesJSON(record.attributes),
                    traceID: Self.withoutNUL(record.traceID ?? "").lowercased(),
                    spanID: Self.withoutNUL(record.spanID ?? "").lowercased(),
                    transaction: Self.withoutNUL(record.transaction ?? "")
                )
            )
            let seconds = record.timeUnixNano / 1_000_000_000
            let key = WritePlan.LogCountKey(appID: appID, minute: seconds - seconds % 60, level: record.level)
            plan.logCounts[key, default: 0] += 1
        }
        volume.stored += UInt64(kept.count)
        plan.logVolume[volumeKey] = volume
    }

    /// Text without NUL characters, which PostgreSQL refuses in text and no log line needs.
    static func withoutNUL(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        return text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
    }

    /// The attributes kept of a record: at most ``LogRecord/maxAttributes`` (by name), values cut to
    /// ``LogRecord/maxAttributeValueBytes``, secrets replaced; as a JSON object with sorted keys. Written by hand:
    /// a `JSONEncoder` per line was a tenth of the log ingest's time.
    package static func attributesJSON(_ attributes: [String: String]) -> String {
        guard !attributes.isEmpty else { return "{}" }
        var kept: [String: String] = [:]
        for name in attributes.keys.sorted().prefix(LogRecord.maxAttributes) {
            let key = LogRecord.cut(withoutNUL(name), to: 255).text
            kept[key] = LogRecord.cut(withoutNUL(attributes[name] ?? ""), to: LogRecord.maxAttributeValueBytes).text
        }
        var json = "{"
        for (index, pair) in SecretScrubber.scrubbed(attributes: kept).sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { json += "," }
            appendJSONString(pair.key, to: &json)
            json += ":"
            appendJSONString(pair.value, to: &json)
        }
        return json + "}"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped (RFC 8259), the rest as is.
    static func appendJSONString(_ text: String, to json: inout String) {
        json += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }
}
