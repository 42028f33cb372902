import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import Foundation
import Testing

/// `apm errors list|show|resolve|ignore|reopen|merge` against a real collector: the states the API and the page
/// show.
@Suite struct ErrorsCommandTests {
    @Test func issuesAreListedResolvedIgnoredAndReopened() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            let account = try #require(try await collector.store.accounts().first)
            var batch = UsageTests.batch(app: "shop")
            batch.errors = [
                ErrorSample(
                    timestamp: batch.createdAt - 1,
                    transaction: "GET /",
                    type: "PaymentDeclined",
                    message: "card declined",
                    status: 500
                ),
                ErrorSample(
                    timestamp: batch.createdAt - 2,
                    transaction: "GET /cart",
                    type: "CardExpired",
                    message: "card expired",
                    status: 500
                ),
            ]
            _ = try await collector.store.commit(
                [.init(accountID: account.id, batch: batch, receivedAt: batch.createdAt)],
                limits: .init()
            )
            func apm(_ arguments: [String]) async throws -> CLI.Result {
                try await CLI.run(arguments, in: directory, environment: environment)
            }
            let list = try await apm(["errors", "list", "shop"])
            #expect(list.status == 0, "\(list.stderr)")
            #expect(list.stdout.contains("unresolved") && list.stdout.contains("PaymentDeclined: card declined"))
            let issues = try await collector.store.errorGroups(appID: 1, range: 0..<Int64.max, limit: 10)
            let id = try #require(issues.first { $0.type == "PaymentDeclined" }?.id)
            let expired = try #require(issues.first { $0.type == "CardExpired" }?.id)

            let shown = try await apm(["errors", "show", "shop", "\(id)"])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout.contains("Issue \(id): PaymentDeclined: card declined"))
            #expect(shown.stdout.contains("Occurrences: 1 in the range, 1 in all"))
            #expect(shown.stdout.contains("By transaction:") && shown.stdout.contains("By host:"))
            let merged = try await apm(["errors", "merge", "shop", "\(id)", "\(expired)"])
            #expect(
                merged.status == 0 && merged.stdout.contains("Merged \(expired) into issue \(id)"),
                "\(merged.stderr)"
            )
            let afterMerge = try await apm(["errors", "show", "shop", "\(id)"])
            #expect(afterMerge.stdout.contains("Occurrences: 2 in the range, 2 in all"), "\(afterMerge.stdout)")
            let mergedAgain = try await apm(["errors", "merge", "shop", "\(id)", "\(expired)"])
            #expect(
                mergedAgain.status == 1 && mergedAgain.stderr.contains("none of the issues"),
                "\(mergedAgain.stderr)"
            )

            let resolved = try await apm(["errors", "resolve", "shop", "\(id)", "--next-deployment"])
            #expect(
                resolved.status == 0 && resolved.stdout.contains("is resolved next deployment"),
                "\(resolved.stderr)"
            )
            let ignored = try await apm(["errors", "ignore", "shop", "\(id)", "--more", "5"])
            #expect(ignored.status == 0 && ignored.stdout.contains("is ignored"), "\(ignored.stderr)")
            let status = try #require(
                try await collector.store.errorGroups(appID: 1, range: 0..<Int64.max, limit: 10).first { $0.id == id }
            )
            .status
            #expect(status.state == .ignored && status.ignoreUntilCount == 7 && status.changedBy.hasPrefix("API token"))
            let onlyIgnored = try await apm(["errors", "list", "shop", "--state", "ignored"])
            #expect(onlyIgnored.status == 0 && onlyIgnored.stdout.contains("ignored"))
            let noneResolved = try await apm(["errors", "list", "shop", "--state", "resolved"])
            #expect(noneResolved.status == 0 && noneResolved.stdout.contains("No issues of shop"))
            let reopened = try await apm(["errors", "reopen", "shop", "\(id)"])
            #expect(reopened.status == 0 && reopened.stdout.contains("is unresolved"), "\(reopened.stderr)")

            // Clear answers: a state that is not one is a usage error; an issue the app does not have is not found.
            let bogus = try await apm(["errors", "list", "shop", "--state", "fixed"])
            #expect(bogus.status == 2 && bogus.stderr.contains("--state fixed"))
            let missing = try await apm(["errors", "resolve", "shop", "999999"])
            #expect(missing.status == 1 && missing.stderr.contains("no issue 999999"), "\(missing.stderr)")
        }
    }
}
