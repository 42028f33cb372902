import APMCollector
import APMCollectorTestSupport
import Foundation
import Testing

@Suite struct AlertsVerbTests {
    @Test func alertsVerbsCreateListTestAndDeleteAndRefuseBadDefinitionsNamingTheField() async throws {
        // Nothing listens on port 9: the test notification fails after the (short) timeout.
        let configuration = TestCollector.configuration { $0.alerts.timeout = .seconds(2) }
        try await CLI.withCollector(configuration) { collector, port, key in
            _ = try await ReportVerbTests.load(collector, key: key)
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            func apm(_ arguments: [String]) async throws -> CLI.Result {
                try await CLI.run(["alerts"] + arguments, in: directory, environment: environment)
            }
            // Port 9 (discard) has no listener here: the test notification fails, and says why.
            let channel = try await apm(
                ["add-channel", "--name", "ops", "--kind", "webhook", "--url", "http://127.0.0.1:9/hook"]
            )
            #expect(channel.status == 0, "\(channel.stderr)")
            #expect(channel.stdout.contains("Created channel 1 (ops)"))
            #expect(channel.stdout.contains("signing secret is shown only once"))
            let test = try await apm(["test", "1"])
            #expect(test.status == 1)
            #expect(test.stderr.contains("the test notification to channel 1 failed"), "\(test.stderr)")

            let bad = try await apm(["create", "shop", "--name", "x", "--metric", "latency", "--critical", "1"])
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("metric must be one of apdex"), "\(bad.stderr)")
            let inverted = try await apm(
                ["create", "shop", "--name", "x", "--metric", "apdex", "--warning", "0.7", "--critical", "0.9"]
            )
            #expect(inverted.status == 1)
            #expect(inverted.stderr.contains("critical must not be above warning"), "\(inverted.stderr)")

            let created = try await apm(
                [
                    "create", "shop", "--name", "Shop Apdex", "--metric", "apdex", "--warning", "0.85", "--critical",
                    "0.7", "--window", "10", "--for", "2", "--channel", "1",
                ]
            )
            #expect(created.status == 0, "\(created.stderr)")
            let list = try await apm(["list"])
            #expect(list.status == 0)
            #expect(list.stdout.contains("Shop Apdex"))
            #expect(list.stdout.contains("10 min"))
            #expect(list.stdout.contains("Open incidents"))
            // The failed test notification, with why.
            #expect(list.stdout.contains("Latest notifications"))
            #expect(list.stdout.contains("retrying"))
            #expect(try await apm(["channels"]).stdout.contains("http://127.0.0.1:9/hook"))
            #expect(try await apm(["incidents"]).status == 0)
            #expect(try await apm(["acknowledge", "99"]).status == 1)
            #expect(try await apm(["delete", "1"]).status == 0)
            #expect(try await apm(["delete", "1"]).status == 1)
            #expect(try await apm(["delete-channel", "1"]).status == 0)
        }
    }
}
