extension AgentBatch {
    /// Per-batch caps on samples (traces and errors) and on their parts, like the agent's own
    /// (`transaction_tracer.max_traces`, `error_collector.max_samples`, `transaction_tracer.max_segments`): the
    /// collector keeps what fits and counts the rest in ``AgentBatch/dropped``, so that one batch of thousands of
    /// samples costs the store no more than a normal one, and the dashboard still says that data was left out.
    public struct SampleCaps: Sendable, Hashable {
        /// Traces kept per batch (the slowest). Collector key `max_traces_per_batch`, default 100.
        public var maxTraces: Int = 100
        /// Error samples kept per batch (the first). Collector key `max_error_samples_per_batch`, default 100.
        public var maxErrors: Int = 100
        /// Segments kept per trace (the first, so that every kept segment's parent is kept).
        /// Collector key `max_segments_per_trace`, default 2,000.
        public var maxSegmentsPerTrace: Int = 2000
        /// Stack frames kept per error sample (the innermost). Default 100.
        public var maxStackFrames: Int = 100
        /// Attributes kept per trace, segment or error. Default 64.
        public var maxAttributes: Int = 64
        /// Longest error message, statement or URL kept, in UTF-8 bytes (longer ones are cut). Default 4,096.
        public var maxTextBytes: Int = 4096
        /// Longest stack frame or attribute value kept, in UTF-8 bytes. Default 1,024.
        public var maxShortTextBytes: Int = 1024

        /// The defaults.
        public static let `default` = SampleCaps()

        /// Creates caps with the defaults.
        public init() {}
    }

    /// Keeps the samples within `caps` and adds what was left out to ``dropped``. Call after
    /// ``validate(now:limits:)``, which bounds the drop counters, so that the additions cannot overflow.
    ///
    /// - Parameter caps: The caps.
    public mutating func applySampleCaps(_ caps: SampleCaps) {
        if traces.count > caps.maxTraces {
            let excess = traces.count - caps.maxTraces
            traces = Array(traces.sorted { $0.duration > $1.duration }.prefix(caps.maxTraces))
            dropped.traces += UInt64(excess)
        }
        if errors.count > caps.maxErrors {
            dropped.errors += UInt64(errors.count - caps.maxErrors)
            errors.removeLast(errors.count - caps.maxErrors)
        }
        for index in traces.indices {
            let excess = traces[index].segments.count - caps.maxSegmentsPerTrace
            if excess > 0 {
                traces[index].segments.removeLast(excess)
                traces[index].droppedSegments += excess
                dropped.segments += UInt64(excess)
            }
            traces[index].attributes = Self.capped(traces[index].attributes, caps)
            for segment in traces[index].segments.indices {
                traces[index].segments[segment].statement = Self.cut(
                    traces[index].segments[segment].statement,
                    caps.maxTextBytes
                )
                // Whatever sent it, a URL is stored without credentials, query or fragment.
                traces[index].segments[segment].url = SpanConventions.safeURL(traces[index].segments[segment].url)
                traces[index].segments[segment].attributes = Self.capped(
                    traces[index].segments[segment].attributes,
                    caps
                )
            }
        }
        for index in errors.indices {
            errors[index].message = Self.cut(errors[index].message, caps.maxTextBytes)
            if errors[index].stack.count > caps.maxStackFrames {
                errors[index].stack.removeLast(errors[index].stack.count - caps.maxStackFrames)
            }
            errors[index].stack = errors[index].stack.map { Self.cut($0, caps.maxShortTextBytes) }
            if var frames = errors[index].frames {
                if frames.count > caps.maxStackFrames { frames.removeLast(frames.count - caps.maxStackFrames) }
                errors[index].frames = frames.map {
                    StackFrame(
                        function: Self.cut($0.function, caps.maxShortTextBytes),
                        file: Self.cut($0.file, caps.maxShortTextBytes),
                        line: min(max($0.line, 0), 10_000_000),
                        inApp: $0.inApp
                    )
                }
            }
            errors[index].traceID = Self.cut(errors[index].traceID, 64)
            errors[index].attributes = Self.capped(errors[index].attributes, caps)
        }
    }

    /// The first `maxBytes` bytes of UTF-8 text, cut at a character boundary.
    package static func cut(_ text: String, _ maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        let utf8 = text.utf8
        var end = utf8.index(utf8.startIndex, offsetBy: maxBytes)
        // Step back over continuation bytes (10xxxxxx) so that no scalar is cut in two.
        while end > utf8.startIndex && utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
        return String(decoding: utf8[..<end], as: UTF8.self)
    }

    /// At most `maxAttributes` entries (the smallest keys, so that the choice is stable), each cut.
    static func capped(_ attributes: [String: String], _ caps: SampleCaps) -> [String: String] {
        guard
            attributes.count > caps.maxAttributes
                || attributes.contains(where: {
                    $0.key.utf8.count > 255 || $0.value.utf8.count > caps.maxShortTextBytes
                })
        else { return attributes }
        var result: [String: String] = [:]
        for key in attributes.keys.sorted().prefix(caps.maxAttributes) {
            result[cut(key, 255)] = cut(attributes[key] ?? "", caps.maxShortTextBytes)
        }
        return result
    }
}
