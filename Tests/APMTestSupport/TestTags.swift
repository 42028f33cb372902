public import Testing

extension Tag {
    /// Suites that run real binaries under load, a browser, fuzzing or a whole migration (tens of seconds each).
    /// `scripts/quick-test` leaves them out (`swift test --skip` takes a regular expression of test names, not a
    /// tag: the script's expression names these suites, and `QuickTestScriptTests` checks that it names exactly
    /// the suites tagged here).
    @Tag public static var slow: Self
}
