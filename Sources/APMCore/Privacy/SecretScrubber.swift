import Foundation

/// Replaces what looks like a secret before it is stored: the collector keeps error samples (and their request)
/// for days and shows them to every dashboard user, so a password in a query string or a bearer token in a header
/// must never reach the store. The rules follow what Sentry's and New Relic's default scrubbing removes:
///
/// - request headers (`http.request.header.NAME` attributes, as OpenTelemetry names them) are kept only when
///   their name is on ``allowedHeaders``; every other header's value becomes ``filtered``;
/// - an attribute, query parameter or `name=value` / `name: value` pair whose name contains a sensitive word
///   (``sensitiveWords``: password, secret, token, auth, cookie, session, signature, credential, api key, ...) has
///   its value replaced;
/// - values that are secrets whatever their name are replaced: `Bearer …` and `Basic …` credentials, and this
///   product's own license keys (`apm_` and 32 or more hex digits) and API tokens (`apt_…`).
public enum SecretScrubber {
    /// What replaces a secret.
    public static let filtered = "[Filtered]"

    /// Request headers whose values are kept (lower case).
    public static let allowedHeaders: Set<String> = [
        "accept", "accept-encoding", "accept-language", "cache-control", "content-length", "content-type", "host",
        "origin", "referer", "traceparent", "user-agent", "x-request-id", "x-forwarded-proto",
    ]

    /// Words that make a name sensitive (compared in lower case, `-` and `.` read as `_`).
    public static let sensitiveWords = [
        "password", "passwd", "pwd", "secret", "token", "auth", "cookie", "session", "signature", "credential",
        "api_key", "apikey", "private_key", "access_key", "jwt", "csrf", "xsrf",
    ]

    /// Attributes that hold a URL or a query string: their query parameters are scrubbed one by one.
    static let urlAttributes: Set<String> = [
        "url.query", "url.full", "http.url", "http.target", "request.uri", "request.url", "request.query",
    ]

    /// Whether a name (an attribute, header, parameter or key) is sensitive.
    ///
    /// - Parameter name: The name.
    /// - Returns: Whether its value is replaced.
    public static func isSensitive(name: String) -> Bool {
        ByteMatcher.sensitiveNames.firstMatch(in: name.utf8) != nil
    }

    /// Attributes with their secrets replaced.
    ///
    /// - Parameter attributes: Name → value.
    /// - Returns: The same names, values scrubbed.
    public static func scrubbed(attributes: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        result.reserveCapacity(attributes.count)
        for (name, value) in attributes {
            let lowered = name.lowercased()
            if lowered.hasPrefix("http.request.header.") {
                let header = String(lowered.dropFirst("http.request.header.".count)).replacingUnderscores()
                result[name] = allowedHeaders.contains(header) ? scrubbed(text: value) : filtered
            } else if isSensitive(name: name) {
                result[name] = filtered
            } else if urlAttributes.contains(lowered) {
                result[name] = scrubbed(url: value)
            } else {
                result[name] = scrubbed(text: value)
            }
        }
        return result
    }

    /// A URL or query string with sensitive parameters' values replaced (the rest kept as is).
    ///
    /// - Parameter url: `https://host/path?a=1&password=x`, `/path?a=1`, or `a=1&password=x`.
    /// - Returns: The same with `password=[Filtered]`.
    public static func scrubbed(url: String) -> String {
        let (head, query): (Substring, Substring)
        if let mark = url.firstIndex(of: "?") {
            (head, query) = (url[...mark], url[url.index(after: mark)...])
        } else if url.contains("=") && !url.contains("/") {
            (head, query) = ("", url[...])
        } else {
            return scrubbed(text: url)
        }
        let fragmentStart = query.firstIndex(of: "#") ?? query.endIndex
        let pairs = query[..<fragmentStart].split(separator: "&", omittingEmptySubsequences: false).map {
            pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals]
            let decoded = name.removingPercentEncoding ?? String(name)
            return isSensitive(name: decoded) ? "\(name)=\(filtered)" : scrubbed(text: String(pair))
        }
        return scrubbed(text: String(head)) + pairs.joined(separator: "&") + query[fragmentStart...]
    }

    /// Free text (a message, a header's value, a log line) with secrets replaced: `Bearer`/`Basic` credentials,
    /// this product's keys and tokens, and the values of `name=value` or `name: value` pairs with a sensitive name.
    ///
    /// - Parameter text: The text.
    /// - Returns: The text, scrubbed; the same string when nothing matched.
    public static func scrubbed(text: String) -> String {
        // Most text holds none of the markers: one pass over its bytes before any rewriting (this runs on every
        // attribute and message of every batch).
        let markers = ByteMatcher.markers.matches(in: text.utf8)
        guard !markers.isEmpty else { return text }
        let mayHoldPair = markers.contains(.sensitiveWord) && (text.utf8.contains(61) || text.utf8.contains(58))
        let mayHoldScheme = markers.contains(.scheme)
        let mayHoldKey = markers.contains(.productKey)
        guard mayHoldPair || mayHoldScheme || mayHoldKey else { return text }
        var words = Tokenized(text)
        words.replaceCredentials(afterSchemes: mayHoldScheme)
        if mayHoldKey { words.replaceProductKeys() }
        if mayHoldPair { words.replaceSensitivePairs() }
        return words.text
    }

    /// Text as a sequence of runs of word characters and of the others, rewritten run by run.
    struct Tokenized {
        var runs: [(text: Substring, isWord: Bool)] = []

        init(_ text: String) {
            var start = text.startIndex
            var current: Bool?
            for index in text.indices {
                let word = Self.isWordCharacter(text[index])
                if let current, current != word {
                    runs.append((text[start..<index], current))
                    start = index
                }
                current = word
            }
            if let current { runs.append((text[start...], current)) }
        }

        /// Characters of tokens and keys: letters, digits and `_ - . / + = ~`.
        static func isWordCharacter(_ character: Character) -> Bool {
            character.isLetter || character.isNumber || "_-./+=~".contains(character)
        }

        var text: String { runs.map(\.text).joined() }

        /// `Bearer abc…` → `Bearer [Filtered]` (and `Basic`).
        mutating func replaceCredentials(afterSchemes: Bool) {
            guard afterSchemes else { return }
            for index in runs.indices where runs[index].isWord {
                let word = runs[index].text.lowercased()
                guard word == "bearer" || word == "basic", index + 2 < runs.count,
                    runs[index + 1].text.allSatisfy({ $0 == " " }), runs[index + 2].isWord
                else { continue }
                runs[index + 2].text = Substring(SecretScrubber.filtered)
            }
        }

        /// `apm_0123…` (a license key) and `apt_…` (an API token) → `[Filtered]`.
        mutating func replaceProductKeys() {
            for index in runs.indices where runs[index].isWord {
                let word = runs[index].text
                let body = word.dropFirst(4)
                if word.hasPrefix("apm_"), body.count >= 32, body.allSatisfy(\.isHexDigit) {
                    runs[index].text = Substring(SecretScrubber.filtered)
                } else if word.hasPrefix("apt_"), body.count >= 20 {
                    runs[index].text = Substring(SecretScrubber.filtered)
                }
            }
        }

        /// `password=hunter2`, `api_key: abc`, `"token": "abc"` → the value replaced.
        mutating func replaceSensitivePairs() {
            var index = 0
            while index < runs.count {
                defer { index += 1 }
                guard runs[index].isWord else { continue }
                // A word run may hold `name=value` whole (`=` is a word character, for base64 values).
                let run = runs[index].text
                if let equals = run.firstIndex(of: "="), SecretScrubber.isSensitive(name: String(run[..<equals])) {
                    let value = run[run.index(after: equals)...]
                    if !value.isEmpty {
                        runs[index].text = run[...equals] + Substring(SecretScrubber.filtered)
                        continue
                    }
                    if index + 2 < runs.count, runs[index + 2].isWord,
                        runs[index + 1].text.allSatisfy({ $0 == " " || $0 == "\"" || $0 == "'" })
                    {
                        runs[index + 2].text = Substring(SecretScrubber.filtered)
                        index += 2
                    }
                    continue
                }
                // `name: value`, `name = value`, `"name": "value"`: a separator run, then the value.
                guard SecretScrubber.isSensitive(name: String(run.trimmingCharacters(in: "=")))
                else { continue }
                guard index + 2 < runs.count, runs[index + 2].isWord else { continue }
                // `name = value`: the `=` is a run of its own (it is a word character, for base64 values).
                if runs[index + 2].text == "=", index + 4 < runs.count, runs[index + 4].isWord,
                    runs[index + 1].text.allSatisfy({ $0 == " " }), runs[index + 3].text.allSatisfy({ $0 == " " })
                {
                    runs[index + 4].text = Substring(SecretScrubber.filtered)
                    index += 4
                    continue
                }
                let separator = runs[index + 1].text.filter { $0 != " " && $0 != "\"" && $0 != "'" }
                guard separator == ":" || separator == "=" else { continue }
                // `Authorization: Bearer …`: the scheme stays, its credential went already.
                let value = runs[index + 2].text.lowercased()
                guard value != "bearer" && value != "basic" else { continue }
                runs[index + 2].text = Substring(SecretScrubber.filtered)
                index += 2
            }
        }
    }
}

/// Case-insensitive search for a few ASCII words in one pass over UTF-8 bytes, dispatching on each byte: the
/// scrubber's checks run on every attribute of every batch, and Foundation's `contains` on Linux is far slower.
struct ByteMatcher: Sendable {
    /// What a match says about the text.
    enum Marker: Sendable, Hashable {
        case sensitiveWord
        case scheme
        case productKey
    }

    /// Words by their first byte (lower case), each with its marker.
    private var byFirstByte: [[(word: [UInt8], marker: Marker)]] = Array(repeating: [], count: 256)

    init(_ words: [(String, Marker)]) {
        for (word, marker) in words {
            let bytes = Array(word.utf8)
            byFirstByte[Int(bytes[0])].append((bytes, marker))
        }
    }

    /// Sensitive words in names: `-` and `.` count as `_` (`api-key`, `api.key`).
    static let sensitiveNames = ByteMatcher(SecretScrubber.sensitiveWords.map { ($0, .sensitiveWord) })

    /// Everything ``SecretScrubber/scrubbed(text:)`` looks for.
    static let markers = ByteMatcher(
        SecretScrubber.sensitiveWords.map { ($0, Marker.sensitiveWord) } + [
            ("bearer ", .scheme), ("basic ", .scheme), ("apm_", .productKey), ("apt_", .productKey),
        ]
    )

    @inline(__always) private static func folded(_ byte: UInt8) -> UInt8 {
        switch byte {
        case 65...90: byte | 0x20
        case 45, 46: 95  // `-` and `.` read as `_`
        default: byte
        }
    }

    /// The first word found, if any.
    func firstMatch(in text: String.UTF8View) -> Marker? {
        var found: Marker?
        scan(text) { marker in
            found = marker
            return false
        }
        return found
    }

    /// The markers of every word found.
    func matches(in text: String.UTF8View) -> Set<Marker> {
        var found = Set<Marker>()
        scan(text) { marker in
            found.insert(marker)
            return found.count < 3
        }
        return found
    }

    /// Calls `found` for each match until it returns false.
    private func scan(_ text: String.UTF8View, _ found: (Marker) -> Bool) {
        let scanned: Void? = text.withContiguousStorageIfAvailable { bytes in scan(bytes, found) }
        if scanned == nil {
            // A bridged or lazily built string: copied once.
            Array(text).withUnsafeBufferPointer { bytes in scan(bytes, found) }
        }
    }

    private func scan(_ bytes: UnsafeBufferPointer<UInt8>, _ found: (Marker) -> Bool) {
        let count = bytes.count
        var index = 0
        while index < count {
            let candidates = byFirstByte[Int(Self.folded(bytes[index]))]
            if !candidates.isEmpty {
                for (word, marker) in candidates where index + word.count <= count {
                    var offset = 1
                    while offset < word.count && Self.folded(bytes[index + offset]) == Self.folded(word[offset]) {
                        offset += 1
                    }
                    if offset == word.count && !found(marker) { return }
                }
            }
            index += 1
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var result = self
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return result
    }
}
