/// `--help` text as ArgumentParser shows it best: it wraps each line at the terminal's width itself, so a
/// paragraph written over several source lines would be broken twice ("Ctrl-C stops" / "everything"). Prose lines
/// of a paragraph are joined into one; indented lines (examples) and headers ending with a colon keep their own
/// line, and examples are kept short enough not to be wrapped (``maxExampleWidth``), so that they copy and paste.
enum HelpText {
    /// The widest indented line (an example) in a discussion: ArgumentParser wraps at 80 columns when it cannot
    /// tell the terminal's width.
    static let maxExampleWidth = 80

    /// A discussion with its paragraphs joined.
    ///
    /// - Parameter text: The discussion as written in the source.
    /// - Returns: The text to give ArgumentParser.
    static func discussion(_ text: String) -> String {
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let isProse = !line.isEmpty && !line.hasPrefix(" ")
            if isProse, let last = lines.last, !last.isEmpty, !last.hasPrefix(" "), !last.hasSuffix(":") {
                lines[lines.count - 1] = last + " " + line
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }
}
