import ArgumentParser
import Foundation
import Testing

@testable import APMCommands

/// Every `--help`: paragraphs flow (one source line each, so that ArgumentParser wraps them at the terminal's
/// width, not twice), examples fit in 80 columns (so that they are never broken and copy and paste), and the
/// options a verb's text names are its own.
@Suite struct HelpTextTests {
    static func allCommands(_ root: any ParsableCommand.Type = APMCommand.self) -> [any ParsableCommand.Type] {
        [root] + root.configuration.subcommands.flatMap { allCommands($0) }
    }

    @Test func paragraphsFlowAndExamplesFit() {
        for command in Self.allCommands() {
            let name = command.configuration.commandName ?? "\(command)"
            let lines = command.configuration.discussion.split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() {
                if line.hasPrefix(" ") {
                    #expect(line.count <= HelpText.maxExampleWidth, "\(name): an example is wrapped: \(line)")
                    #expect(!line.hasSuffix("\\"), "\(name): an example continues on the next line: \(line)")
                } else if index > 0, !line.isEmpty {
                    let previous = lines[index - 1]
                    #expect(
                        previous.isEmpty || previous.hasPrefix(" ") || previous.hasSuffix(":"),
                        "\(name): a paragraph is broken before \"\(line.prefix(30))\""
                    )
                }
            }
        }
    }

    @Test func theOptionsAVerbsTextNamesAreItsOwn() {
        for command in [LoadgenCommand.self, DemoCommand.self, RunProgramCommand.self] as [any ParsableCommand.Type] {
            let help = command.helpMessage(columns: 1000)
            // Prose only: examples may pass options on to the program they run.
            let discussion = command.configuration.discussion.split(separator: "\n").filter { !$0.hasPrefix(" ") }
                .joined(separator: " ")
            let named = discussion.split(whereSeparator: { !$0.isLetter && $0 != "-" }).filter {
                $0.hasPrefix("--") && $0.count > 2
            }
            let usage = help.components(separatedBy: "OPTIONS:").last ?? ""
            for option in named {
                #expect(usage.contains(String(option)), "\(command): its help names \(option), which it does not have")
            }
        }
    }

    @Test func runProgramsHelpNamesEveryEventItReports() {
        #expect(RunProgramCommand.configuration.discussion.contains("start, stop, exit and crash"))
    }
}
