/// One configuration key's rule: reads the text of an INI value or environment variable, checks it, and writes
/// the field; when the text is not allowed, says what is. The agent's and the collector's settings are tables of
/// these, so that a whole number, a flag or a number of seconds is read and refused the same way everywhere.
public struct ConfigurationSetting<Root>: Sendable {
    /// Applies a value; returns what is allowed when the value is invalid, `nil` when applied.
    public let apply: @Sendable (inout Root, String) -> String?

    /// A rule of its own.
    ///
    /// - Parameter apply: Checks and writes the value; returns what is allowed when it is invalid.
    public init(_ apply: @escaping @Sendable (inout Root, String) -> String?) {
        self.apply = apply
    }

    /// A whole number in a range, optionally of a unit (`MiB`, `seconds`, `days`): the message names the unit.
    ///
    /// - Parameters:
    ///   - range: The numbers allowed.
    ///   - unit: What the number counts, for the message.
    ///   - set: Writes the number.
    /// - Returns: The rule.
    public static func wholeNumber(
        _ range: ClosedRange<Int>,
        of unit: String? = nil,
        _ set: @escaping @Sendable (inout Root, Int) -> Void
    ) -> Self {
        Self { root, value in
            guard let number = Int(value), range.contains(number) else {
                return
                    "must be a whole number\(unit.map { " of \($0)" } ?? "") from \(range.lowerBound) to \(range.upperBound)"
            }
            set(&root, number)
            return nil
        }
    }

    /// `true`/`yes`/`on`/`1` or `false`/`no`/`off`/`0`.
    ///
    /// - Parameter keyPath: The field.
    /// - Returns: The rule.
    public static func flag(_ keyPath: any WritableKeyPath<Root, Bool> & Sendable) -> Self {
        Self { root, value in
            switch value.lowercased() {
            case "true", "yes", "on", "1": root[keyPath: keyPath] = true
            case "false", "no", "off", "0": root[keyPath: keyPath] = false
            default: return "must be true or false"
            }
            return nil
        }
    }

    /// A number of seconds in a range, fractions allowed, with an optional `s` or `ms` suffix (`10`, `10s`,
    /// `250ms`).
    ///
    /// - Parameters:
    ///   - keyPath: The field.
    ///   - range: The seconds allowed.
    /// - Returns: The rule.
    public static func seconds(
        _ keyPath: any WritableKeyPath<Root, Duration> & Sendable,
        range: ClosedRange<Double>
    ) -> Self {
        Self { root, value in
            var text = Substring(value)
            if text.hasSuffix("ms"), let milliseconds = Double(text.dropLast(2)) {
                text = Substring(String(milliseconds / 1000))
            } else if text.hasSuffix("s") {
                text = text.dropLast()
            }
            guard let seconds = Double(text), seconds.isFinite, range.contains(seconds) else {
                return
                    "must be a number of seconds from \(plain(range.lowerBound)) to \(plain(range.upperBound)), e.g. 10 or 10s"
            }
            root[keyPath: keyPath] = .nanoseconds(Int64((seconds * 1e9).rounded()))
            return nil
        }
    }

    /// `1` rather than `1.0` in messages.
    private static func plain(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }
}
