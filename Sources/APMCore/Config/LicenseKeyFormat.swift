/// The shape of a license key, shared by the agent, the CLI and the collector.
///
/// Keys the collector issues look like `apm_` followed by 40 hex digits, but any 16 to 128 characters of
/// letters, digits, `-` and `_` are accepted so that keys can be migrated from elsewhere.
public enum LicenseKeyFormat {
    /// What a well-formed key looks like, for error messages.
    public static let requirement =
        "must be 16 to 128 characters of letters, digits, '-' or '_' (as printed by `apm collector` or `apm keys create`)"

    /// Whether a key has a valid shape.
    ///
    /// - Parameter key: The key.
    /// - Returns: `true` when it may be a key.
    public static func isWellFormed(_ key: String) -> Bool {
        let bytes = key.utf8
        guard (16...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { c in
            (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c == UInt8(ascii: "-")
                || c == UInt8(ascii: "_")
        }
    }
}
