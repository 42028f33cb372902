/// The known names closest to one that was not found, for "did you mean" answers.
public enum NearestNames {
    /// Up to `limit` names, nearest first: edit distance to `name`, less twice the prefix they share and the
    /// length of `name` when they contain it (a route typed without its method or its `/{id}` tail is found
    /// before a name that is merely as short), then alphabetically. Case-insensitive, on the first 64
    /// characters, so that a thousand long names cost a few million steps at most.
    ///
    /// - Parameters:
    ///   - name: The name asked for.
    ///   - known: The names that exist.
    ///   - limit: How many to return.
    /// - Returns: The nearest names.
    public static func nearest(to name: String, in known: [String], limit: Int = 3) -> [String] {
        let lowered = name.lowercased()
        let target = Array(lowered.prefix(64).unicodeScalars)
        func score(_ candidate: String) -> Int {
            let other = candidate.lowercased()
            let scalars = Array(other.prefix(64).unicodeScalars)
            let shared = zip(target, scalars).prefix { $0 == $1 }.count
            return distance(target, scalars) - 2 * shared - (other.contains(lowered) ? target.count : 0)
        }
        return
            known
            .map { ($0, score($0)) }
            .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .prefix(limit)
            .map(\.0)
    }

    /// Levenshtein distance, two rows at a time.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
