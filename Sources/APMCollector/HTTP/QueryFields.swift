import Foundation
import Hummingbird

/// `application/x-www-form-urlencoded` text: form bodies and query strings.
enum FormEncoding {
    /// Decodes fields as browsers and HTTP clients encode them: `+` is a space, then percent escapes (Python's
    /// `urlencode` and `requests` send `transaction=GET+%2Fdb`; a `+` in a value travels as `%2B`). The last of
    /// repeated names wins; a name without `=` has an empty value.
    static func fields(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            result[parts[0]] = parts.count == 2 ? parts[1] : ""
        }
        return result
    }
}

extension Request {
    /// The query string's parameters, decoded as a form's. Every handler reads its query through this, never
    /// through `uri.queryParameters`, which leaves `+` as it is (`GET+/db` answered 200 with zeros).
    var queryFields: [String: String] { FormEncoding.fields(uri.query ?? "") }
}
