/// Turns raw URL paths and names into low-cardinality transaction names.
///
/// Path segments that are identifiers become placeholders: all-digit segments `{id}`, UUIDs `{uuid}`, and hex
/// strings of 16 or more characters with at least one digit `{hex}`. The query string and fragment are removed.
/// Route templates (`/users/:id`, `/users/{id}`) pass through unchanged.
public enum TransactionNameNormalizer {
    /// Normalises a name or URL path.
    ///
    /// - Parameter name: A name such as `GET /users/123/orders/9f8e…`.
    /// - Returns: The name with identifiers replaced, e.g. `GET /users/{id}/orders/{hex}`.
    public static func normalize(_ name: String) -> String {
        var text = Substring(name)
        if let cut = text.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            text = text[..<cut]
        }
        // Most names (route templates) have no digits: return them as they are, without a copy.
        guard text.utf8.contains(where: { $0 >= 48 && $0 <= 57 }) else {
            return text.endIndex == name.endIndex ? name : String(text)
        }
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var first = true
        for part in text.split(separator: "/", omittingEmptySubsequences: false) {
            if !first { result.append("/") }
            first = false
            result.append(contentsOf: placeholder(for: part) ?? String(part))
        }
        return result
    }

    /// The placeholder for one path segment, or `nil` to keep it.
    ///
    /// - Parameter segment: One segment between slashes.
    /// - Returns: `{id}`, `{uuid}`, `{hex}` or `nil`.
    public static func placeholder(for segment: Substring) -> String? {
        let bytes = segment.utf8
        guard !bytes.isEmpty else { return nil }
        if bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return "{id}" }
        if isUUID(bytes) { return "{uuid}" }
        if bytes.count >= 16, bytes.allSatisfy(isHex), bytes.contains(where: { $0 >= 48 && $0 <= 57 }) {
            return "{hex}"
        }
        return nil
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102)
    }

    private static func isUUID(_ bytes: Substring.UTF8View) -> Bool {
        guard bytes.count == 36 else { return false }
        for (offset, c) in bytes.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !isHex(c) {
                return false
            }
        }
        return true
    }
}
