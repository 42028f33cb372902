import APMCollector
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The dashboard in a real browser: headless Chromium signs in through the form, opens every page of a
/// collector filled with a workload whose answers are known, and checks that the figures it shows are the JSON
/// API's (and the hand-computed ones), that forms work, and that the browser reports no problem at all
/// (console errors, exceptions, failed loads, CSP violations, dialogs).
///
/// Skipped when no Chromium is installed, unless `APM_REQUIRE_BROWSER=1` (set by `.ci/run`), which makes a
/// missing browser a failure.
@Suite(.serialized, .tags(.slow)) struct DashboardBrowserTests {
    typealias Support = CollectorTestSupport

    static let runs = HeadlessChromium.executable != nil || HeadlessChromium.isRequired
    static let evil = "GET /<script>alert(1)</script>"

    /// Minute A: GET /orders 0.1 0.2 0.4 0.7 3.0(error), GET /users/:id 0.02 0.03, the evil name 0.6.
    /// Minute B: GET /orders 0.15 0.3 1.2, GET /users/:id 0.05.
    /// At T = 0.5 s: S 8 (≤ 0.5 s), T 3 (0.6, 0.7, 1.2), F 1 (3.0 s, also an error); Apdex (8 + 3/2) / 12 = 0.79.
    static func fill(_ client: any TestClientProtocol, key: String, minuteA: Int64, minuteB: Int64) async throws {
        var first = Support.batch(
            minute: minuteA,
            metrics: [
                Support.metric("GET /orders", durations: [0.1, 0.2, 0.4, 0.7, 3.0], errors: [4]),
                Support.metric("GET /users/:id", durations: [0.02, 0.03]),
                Support.metric(evil, durations: [0.6]),
            ]
        )
        first.intervals[0].segments = [
            SegmentMetric(
                transaction: "GET /orders",
                name: "Postgres orders select",
                category: .datastore,
                system: "postgresql",
                operation: "SELECT",
                target: "orders",
                count: 5,
                totalDuration: 1.5,
                exclusiveDuration: 1.5,
                minDuration: 0.05,
                maxDuration: 1.2
            ),
            SegmentMetric(
                transaction: "GET /orders",
                name: "External payments.example",
                category: .external,
                system: "GET",
                operation: "payments.example",
                count: 2,
                totalDuration: 0.4,
                exclusiveDuration: 0.4,
                minDuration: 0.1,
                maxDuration: 0.3
            ),
        ]
        first.traces = [
            TransactionTrace(
                traceID: String(repeating: "b", count: 32),
                transaction: "GET /orders",
                kind: .web,
                start: Double(minuteA + 10),
                duration: 3.0,
                status: 500,
                isError: true,
                attributes: ["http.route": "/orders"],
                segments: [
                    TraceSegment(
                        parent: nil,
                        name: "Postgres orders select",
                        category: .datastore,
                        offset: 0.1,
                        duration: 1.2,
                        statement: "SELECT * FROM orders WHERE customer = ?"
                    ),
                    TraceSegment(
                        parent: nil,
                        name: "External payments.example",
                        category: .external,
                        offset: 1.4,
                        duration: 0.3,
                        url: "https://payments.example/charge"
                    ),
                ]
            )
        ]
        first.errors = [
            ErrorSample(
                timestamp: Double(minuteA + 10),
                transaction: "GET /orders",
                type: "OrderError",
                message: "<img src=x onerror=alert(2)> payment declined",
                stack: [
                    "Orders.swift:42", "<script>alert(3)</script>",
                    "0x00005f3c2a1b4c8d $s4Shop13OrderServiceV6submit\(String(repeating: "Long", count: 60))tYaKF at /src/Sources/Shop/OrderService.swift:1234",
                ],
                traceID: String(repeating: "b", count: 32)
            )
        ]
        // Log lines: two of the failed request's trace (one with markup), one outside any trace.
        first.logs = [
            LogRecord(
                timeUnixNano: (minuteA + 10) * 1_000_000_000,
                level: .info,
                message: "placing order 7",
                traceID: String(repeating: "b", count: 32),
                transaction: "GET /orders"
            ),
            LogRecord(
                timeUnixNano: (minuteA + 11) * 1_000_000_000,
                level: .error,
                message: "<script>alert(4)</script> payment declined",
                traceID: String(repeating: "b", count: 32),
                transaction: "GET /orders"
            ),
            LogRecord(timeUnixNano: (minuteA + 20) * 1_000_000_000, level: .warn, message: "cache cold"),
        ]
        let second = Support.batch(
            minute: minuteB,
            metrics: [
                Support.metric("GET /orders", durations: [0.15, 0.3, 1.2]),
                Support.metric("GET /users/:id", durations: [0.05]),
            ]
        )
        #expect(try await Support.post(first, key: key, client: client).status == .accepted)
        #expect(try await Support.post(second, key: key, client: client).status == .accepted)
        try await client.execute(
            uri: "/api/v1/apps/1/deployments",
            method: .post,
            headers: [
                .authorization: "Bearer \(CollectorTestSupport.token(for: key))", .contentType: "application/json",
            ],
            body: ByteBuffer(string: #"{"revision": "v42", "at": \#(minuteA + 30)}"#)
        ) { #expect($0.status == .created || $0.status == .ok) }
    }

    static func score(_ value: Double?, digits: Int = 2) -> String {
        value.map { String(format: "%.\(digits)f", $0) } ?? "–"
    }
    static func ms(_ seconds: Double?) -> String { seconds.map { String(format: "%.1f ms", $0 * 1000) } ?? "–" }
    static func percent(_ value: Double?) -> String { value.map { String(format: "%.1f %%", $0 * 100) } ?? "–" }

    /// The `data-figure` texts inside every element carrying `attribute`, keyed by that attribute's value.
    static func rows(_ page: BrowserPage, _ attribute: String) async throws -> [String: [String: String]] {
        let value = try await page.evaluate(
            """
            Object.fromEntries(Array.from(document.querySelectorAll('[\(attribute)]'), row => [
                row.getAttribute('\(attribute)'),
                Object.fromEntries(Array.from(row.querySelectorAll('[data-figure]'),
                    cell => [cell.dataset.figure, cell.textContent.trim()]))]))
            """
        )
        guard case .object(let rows) = value else { return [:] }
        return rows.mapValues { row in
            guard case .object(let cells) = row else { return [:] }
            return cells.compactMapValues(\.string)
        }
    }

    /// Checks that the page reported nothing wrong since `mark`.
    static func expectNoProblems(_ page: BrowserPage, since mark: Int, on what: String) {
        let problems = page.problems(after: mark)
        #expect(problems.isEmpty, "the browser reported problems on \(what): \(problems)")
    }

    @Test(.enabled(if: runs, "no Chromium is installed (.ci/run installs Debian's chromium)"))
    func everyPageShowsTheAPIsFiguresWithoutBrowserErrors() async throws {
        // The collector's clock stands still, so that the API's answers and the pages (read a few seconds
        // apart) cover exactly the same range: a minute boundary between them would change every rpm.
        let frozen = Double(Support.currentMinute()) + 30
        let now: @Sendable () -> Double = { frozen }
        try await Support.withCollector(now: now, transport: .live) { collector, client, key in
            let minuteA = Support.currentMinute(offset: -4)
            let minuteB = Support.currentMinute(offset: -3)
            try await Self.fill(client, key: key, minuteA: minuteA, minuteB: minuteB)
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let password = try await DashboardTests.adminPassword(collector)
            func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
                try await Support.get(type, "/api/v1/apps\(path)", key: key, client: client)
            }
            func list<T: Decodable>(_ type: T.Type, _ field: String, _ path: String) async throws -> [T] {
                try #require(try await get([String: [T]].self, path)[field])
            }
            let app = try #require(try await get(AppsResponse.self, "?since=1h").apps.first)
            let summary = try await get(APIFigures.self, "/1/summary?since=1h")
            let transactions = try await list(APITransactionRow.self, "transactions", "/1/transactions?since=1h")
            let orders = try await get(APIFigures.self, "/1/summary?since=1h&transaction=GET%20%2Forders")
            let whatIf = try await get(APIWhatIfApdex.self, "/1/apdex?since=1h&t=1&transaction=GET%20%2Forders")
            let databases = try await list(APIDatabaseRow.self, "databases", "/1/databases?since=1h")
            let externals = try await list(APIExternalRow.self, "externals", "/1/externals?since=1h")
            let errors = try await list(APIErrorGroup.self, "errors", "/1/errors?since=1h")
            let firstMinute = try await get(APIFigures.self, "/1/summary?from=\(minuteA)&to=\(minuteA + 60)")
            let series = try await get(APISeries.self, "/1/series?since=1h")
            // The known answers, independent of the API.
            #expect(summary.count == 12 && summary.errors == 1)
            #expect(summary.apdex.satisfied == 8 && summary.apdex.tolerating == 3 && summary.apdex.frustrated == 1)
            #expect(Self.score(summary.apdex.score) == "0.79")
            #expect(firstMinute.count == 8)

            try await HeadlessChromium.withPage { page in
                // Without a session every page leads to the sign-in form; sign in through it.
                var mark = page.mark
                try await page.open("\(base)/apps/1?range=1h")
                #expect(try await page.location() == "/login")
                try await page.navigating(
                    by: """
                        document.querySelector('input[name=name]').value = 'admin';
                        document.querySelector('input[name=password]').value = \(BrowserPage.literal(password));
                        document.querySelector('form.login button').click()
                        """
                )
                #expect(try await page.location() == "/apps")
                Self.expectNoProblems(page, since: mark, on: "sign-in")

                // Apps.
                mark = page.mark
                try await page.open("\(base)/apps?range=1h")
                let appRow = try #require(try await Self.rows(page, "data-app")["shop"])
                #expect(appRow["apdex"] == Self.score(app.summary.apdex.score))
                #expect(appRow["apdex"] == "0.79")
                #expect(appRow["language"] == app.language)
                #expect(appRow["stf"] == "8/3/1 at T = 0.5 s")
                #expect(appRow["rpm"] == String(format: "%.1f", app.summary.rpm))
                #expect(appRow["average"] == Self.ms(app.summary.average))
                #expect(appRow["p95"] == Self.ms(app.summary.p95))
                #expect(appRow["error-rate"] == Self.percent(app.summary.errorRate))
                #expect(try await page.count("svg") >= 1)
                Self.expectNoProblems(page, since: mark, on: "/apps")

                // Overview: the cards, the charts with hover values and the deployment marker, the table.
                mark = page.mark
                try await page.navigating(by: "document.querySelector('tr[data-app=\"shop\"] a').click()")
                #expect(try await page.location() == "/apps/1?range=1h")
                let cards = try #require(try await Self.rows(page, "data-cards")["overview"])
                #expect(cards["apdex"] == Self.score(summary.apdex.score))
                #expect(cards["stf"] == "S 8 / T 3 / F 1")
                #expect(cards["t"] == "0.5")
                #expect(cards["count"] == "12" && cards["count"] == "\(summary.count)")
                // Throughput: the last complete minute's rate (the chart's last point; this one had no requests),
                // then the range's average, labelled as such.
                let latest = try #require(summary.latestMinute)
                // The collector's clock stands 30 s into its minute: the last complete minute is the one before.
                #expect(latest.start == Int64(frozen) - 30 - 60 && latest.count == 0)
                #expect(cards["rpm"] == "\(latest.count) rpm")
                #expect(cards["range-rpm"] == String(format: "%.1f rpm", summary.rpm))
                #expect(cards["average"] == Self.ms(summary.average))
                #expect(cards["p95"] == Self.ms(summary.p95))
                #expect(cards["p99"] == Self.ms(summary.p99))
                #expect(cards["errors"] == "1")
                #expect(cards["error-rate"] == Self.percent(summary.errorRate))
                #expect(try await page.count("svg.chart-svg") >= 5)
                // Laid out as meant: every chart a cell of the grid, the table's heading outside it.
                #expect(try await page.count(".charts > .chart") == page.count(".chart"))
                #expect(try await page.count("main > h2") == 1)
                #expect(try await page.count("svg.chart-svg circle > title") > 0)
                #expect(try await page.texts("svg.chart-svg line > title").contains("Deployment v42"))
                // The breakdown is a stacked area chart whose points are the API's figures, in milliseconds, with
                // its legend in the order of the bands from the top (before: lines over a stacked scale, so a zero
                // external line lay on the database line and read as its value).
                let breakdown =
                    "Array.from(document.querySelectorAll('.chart')).find(c => c.querySelector('h3').textContent.startsWith('Response time by category'))"
                let drawn = try await page.evaluate(
                    "Array.from(\(breakdown).querySelectorAll('circle[data-series]'), c => [c.dataset.series, c.dataset.value])"
                ).array.compactMap { pair -> (String, String)? in
                    guard let series = pair.array.first?.string, let value = pair.array.last?.string else { return nil }
                    return (series, value)
                }
                let points = series.points.filter { $0.count > 0 }
                for (label, value) in [
                    ("database", \APIFigures.breakdown.database), ("external", \APIFigures.breakdown.external),
                    ("application", \APIFigures.breakdown.application),
                ] {
                    // A zero band draws no line or point (they would lie on the band below and read as its values).
                    let expected = points.map { String(format: "%.3f", $0[keyPath: value] * 1000) }
                        .filter { $0 != "0.000" }.sorted()
                    #expect(drawn.filter { $0.0 == label }.map(\.1).sorted() == expected, "\(label)")
                }
                #expect(try await page.evaluate("\(breakdown).querySelectorAll('polygon.band').length").number == 3)
                let legend = try await page.evaluate("\(breakdown).lastElementChild.textContent").string ?? ""
                #expect(
                    legend.components(separatedBy: .whitespaces).filter { $0.count > 1 } == [
                        "application", "external", "database", "p95", "deployment",
                    ],
                    "\(legend)"
                )
                let rows = try await Self.rows(page, "data-transaction")
                #expect(rows.count == transactions.count)
                for transaction in transactions {
                    let row = try #require(rows[transaction.name], "no row for \(transaction.name)")
                    #expect(row["share"] == Self.percent(transaction.share))
                    #expect(row["average"] == Self.ms(transaction.figures.average))
                    #expect(row["p95"] == Self.ms(transaction.figures.p95))
                    #expect(row["rpm"] == String(format: "%.1f", transaction.figures.rpm))
                    #expect(row["error-rate"] == Self.percent(transaction.figures.errorRate))
                    #expect(row["apdex"] == Self.score(transaction.figures.apdex.score))
                }
                // The evil name is shown as text: the attribute holds it verbatim and nothing ran.
                #expect(rows[Self.evil] != nil)
                #expect(try await page.count("script") == 0)
                Self.expectNoProblems(page, since: mark, on: "the overview")

                // Sorting by p95 puts the slowest transaction first.
                try await page.navigating(by: "document.querySelector('th a[href*=\"sort=p95\"]').click()")
                let sorted = try await page.evaluate(
                    "Array.from(document.querySelectorAll('tr[data-transaction]'), r => r.dataset.transaction)"
                ).array.compactMap(\.string)
                #expect(sorted.first == "GET /orders")

                // Transaction: cards, the latency histogram, what-if T through the form, slowest traces.
                mark = page.mark
                try await page.navigating(
                    by: "document.querySelector('tr[data-transaction=\"GET /orders\"] a').click()"
                )
                let orderCards = try #require(try await Self.rows(page, "data-cards")["overview"])
                #expect(orderCards["apdex"] == Self.score(orders.apdex.score))
                #expect(orderCards["stf"] == "S 5 / T 2 / F 1")
                #expect(orderCards["p95"] == Self.ms(orders.p95))
                #expect(try await page.count("svg.histogram rect") > 0)
                // The same charts as the app's, deployment marker and p95 line included.
                #expect(try await page.count("svg.chart-svg") >= 5)
                #expect(try await page.texts("svg.chart-svg line > title").contains("Deployment v42"))
                #expect(try await page.texts(".chart h3").contains("Apdex (T = 0.5 s)"))
                try await page.navigating(
                    by: """
                        document.querySelector('input[name=t]').value = '1';
                        document.querySelector('form.whatif button').click()
                        """
                )
                #expect(try await page.location().contains("t=1"))
                #expect(try await page.text("[data-figure=whatif-score]") == Self.score(whatIf.score, digits: 3))
                #expect(
                    try await page.text("[data-figure=whatif-stf]")
                        == "S \(whatIf.satisfied) / T \(whatIf.tolerating) / F \(whatIf.frustrated)"
                )
                #expect(whatIf.satisfied == 6 && whatIf.tolerating == 1 && whatIf.frustrated == 1)
                // The field keeps the T asked about, and the distribution is coloured at it.
                #expect(try await page.evaluate("document.querySelector('input[name=t]').value").string == "1")
                #expect(try await page.text("[data-figure=histogram-t]") == "coloured at T = 1.0 s (what if)")
                Self.expectNoProblems(page, since: mark, on: "the transaction page")

                // Trace: the waterfall with its SQL and URL.
                mark = page.mark
                try await page.navigating(by: "document.querySelector('a[href*=\"/traces/\"]').click()")
                #expect(try await page.count("table.waterfall tr[data-segment]") == 2)
                let waterfall = try await page.text("table.waterfall") ?? ""
                #expect(waterfall.contains("SELECT * FROM orders WHERE customer = ?"))
                #expect(waterfall.contains("https://payments.example/charge"))
                // Its context: the W3C trace id, the request, the way back to the transaction, the request's error.
                #expect(try await page.text("[data-figure=trace-id]") == String(repeating: "b", count: 32))
                #expect(try await page.text("[data-figure=request]") == "http.route /orders")
                #expect(try await page.text("[data-figure=transaction-link]") == "GET /orders")
                #expect(try await page.texts("li[data-error]").first?.hasPrefix("OrderError") == true)
                #expect(try await page.count("table.waterfall td[data-figure=share]") == 2)
                // Logs in context: the request's two lines, escaped, oldest first.
                #expect(
                    try await page.texts("table.logs span[data-figure=log-message]")
                        == ["placing order 7", "<script>alert(4)</script> payment declined"]
                )
                Self.expectNoProblems(page, since: mark, on: "the trace page")

                // Databases and externals.
                mark = page.mark
                try await page.open("\(base)/apps/1/databases?range=1h")
                let operations = try await Self.rows(page, "data-operation")
                #expect(operations.count == databases.count)
                for database in databases {
                    let row = try #require(operations[database.name])
                    #expect(row["calls"] == "\(database.calls)")
                    #expect(row["average"] == Self.ms(database.average))
                    #expect(row["total"] == String(format: "%.2f s", database.totalTime))
                }
                #expect(operations["Postgres orders select"]?["calls"] == "5")
                let hosts = try await Self.rows(page, "data-host")
                #expect(hosts.count == externals.count)
                for external in externals {
                    #expect(hosts[external.host]?["calls"] == "\(external.calls)")
                    #expect(hosts[external.host]?["average"] == Self.ms(external.average))
                }
                #expect(
                    try await page.texts(".chart h3")
                        == [
                            "Time spent in the top database operations, per minute",
                            "Time spent calling the top external hosts, per minute",
                        ]
                )
                Self.expectNoProblems(page, since: mark, on: "the databases page")

                // Errors: the group, its count and its escaped sample.
                mark = page.mark
                try await page.open("\(base)/apps/1/errors?range=1h")
                let groups = try await Self.rows(page, "data-error")
                #expect(groups.count == errors.count)
                #expect(groups["OrderError"]?["count"] == "\(errors.first?.count ?? 0)")
                #expect(try await page.text("tr[data-error] pre")?.contains("<script>alert(3)</script>") == true)
                #expect(try await page.count("img") == 0)
                // The sample links to the trace of its request.
                #expect(try await page.count("a[data-figure=sample-trace]") == 1)
                // An expanded stack scrolls in its own box: the page stays as wide as the window, and first and last
                // seen stay on screen (before: a long stack line widened the page to 1,300-1,600 px).
                try await page.evaluate(
                    "document.querySelector('tr[data-error] details').open = true; document.body.offsetWidth"
                )
                let widths = try await page.evaluate(
                    "[document.documentElement.scrollWidth, window.innerWidth, Math.max(...Array.from(document.querySelectorAll('tr[data-error] td'), td => td.getBoundingClientRect().right))]"
                ).array.compactMap(\.number)
                #expect(widths.count == 3 && widths[0] <= widths[1] && widths[2] <= widths[1], "\(widths)")
                Self.expectNoProblems(page, since: mark, on: "the errors page")

                // The issue's own page, through its link: the same count, the escaped sample, its trace.
                mark = page.mark
                try await page.navigating(by: "document.querySelector('a[data-figure=issue-link]').click()")
                #expect(try await page.location().contains("/apps/1/errors/") == true)
                #expect(try await page.text("[data-figure=issue-type]") == errors.first?.type)
                #expect(try await page.text("[data-figure=total-count]") == "\(errors.first?.count ?? 0)")
                #expect(
                    try await page.text("div[data-figure=sample] pre")?.contains("<script>alert(3)</script>") == true
                )
                #expect(try await page.count("img") == 0)
                #expect(try await page.count("a[data-figure=sample-trace]") >= 1)
                // The sample's log lines, from its trace.
                #expect(
                    try await page.texts("div[data-figure=sample] table.logs td[data-figure=log-level]") == [
                        "info", "error",
                    ]
                )
                Self.expectNoProblems(page, since: mark, on: "the issue page")

                // The Logs page: totals per level, the histogram, a search through its form, a trace's lines.
                mark = page.mark
                try await page.navigating(by: "document.querySelector('a[href*=\"/logs?\"]').click()")
                #expect(try await page.count("table.logs tr[data-log]") == 3)
                #expect(try await page.text("[data-figure=log-total-error]") == "1")
                #expect(try await page.text("[data-figure=log-total-warn]") == "1")
                #expect(try await page.count("svg[data-figure=log-histogram] rect") == 3)
                #expect(try await page.count("a[data-figure=log-trace]") == 2)
                #expect(try await page.count("script") == 0)
                try await page.navigating(
                    by: """
                        document.querySelector('form[data-figure=log-search] input[name=q]').value = 'DECLINED';
                        document.querySelector('form[data-figure=log-search] button').click()
                        """
                )
                #expect(
                    try await page.texts("span[data-figure=log-message]") == [
                        "<script>alert(4)</script> payment declined"
                    ]
                )
                try await page.navigating(by: "document.querySelector('a[data-figure=log-trace-lines]').click()")
                #expect(try await page.count("table.logs tr[data-log]") == 2)
                #expect(try await page.text("[data-figure=log-trace-filter]") == String(repeating: "b", count: 32))
                Self.expectNoProblems(page, since: mark, on: "the logs page")

                // A custom range through the picker's form: only minute A, as the API says.
                mark = page.mark
                try await page.open("\(base)/apps/1?range=1h")
                try await page.navigating(
                    by: """
                        document.querySelector('nav.range input[name=from]').value = \(BrowserPage.literal(DashboardRangeTests.formatted(minuteA)));
                        document.querySelector('nav.range input[name=to]').value = \(BrowserPage.literal(DashboardRangeTests.formatted(minuteA + 60)));
                        document.querySelector('nav.range button').click()
                        """
                )
                #expect(try await page.location().contains("from=") == true)
                let custom = try #require(try await Self.rows(page, "data-cards")["overview"])
                #expect(custom["count"] == "\(firstMinute.count)")
                #expect(custom["apdex"] == Self.score(firstMinute.apdex.score))
                #expect(
                    try await page.evaluate("document.querySelector('a[href*=\"/databases\"]').getAttribute('href')")
                        .string?.contains("from=") == true
                )
                Self.expectNoProblems(page, since: mark, on: "a custom range")

                // Settings: change the app's T through the form (with its CSRF token).
                mark = page.mark
                try await page.open("\(base)/apps/1/settings")
                try await page.navigating(
                    by: """
                        document.querySelector('form[action$="/settings/apdex"] input[name=t]').value = '1.5';
                        document.querySelector('form[action$="/settings/apdex"] button').click()
                        """
                )
                #expect(try await page.text("[data-figure=app-t]") == "1.5 s")
                Self.expectNoProblems(page, since: mark, on: "settings")

                // Log out: the session is gone.
                mark = page.mark
                try await page.navigating(by: "document.querySelector('header form button').click()")
                #expect(try await page.location() == "/login")
                try await page.open("\(base)/apps")
                #expect(try await page.location() == "/login")
                Self.expectNoProblems(page, since: mark, on: "log-out")
            }
            let account = try #require(try await collector.store.accounts().first)
            #expect(try await collector.store.app(accountID: account.id, id: 1)?.apdexT == 1.5)
        }
    }

    /// From a bad Apdex to its cause by clicking: the apps page, the app, its slowest transaction, whose breakdown
    /// leads with the recursive query (90 % of its time), and that query's row on the databases page with its callers.
    @Test(.enabled(if: runs, "no Chromium is installed (.ci/run installs Debian's chromium)"))
    func fromTheAppsPageToTheStatementThatTakesTheTime() async throws {
        try await Support.withCollector(transport: .live) { collector, client, key in
            try await BreakdownTests.fill(client, key: key, minute: Support.currentMinute(offset: -2))
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let password = try await DashboardTests.adminPassword(collector)
            try await HeadlessChromium.withPage { page in
                try await page.open("\(base)/login")
                try await page.navigating(
                    by: """
                        document.querySelector('input[name=name]').value = 'admin';
                        document.querySelector('input[name=password]').value = \(BrowserPage.literal(password));
                        document.querySelector('form.login button').click()
                        """
                )
                let mark = page.mark
                try await page.open("\(base)/apps?range=1h")
                try await page.navigating(by: "document.querySelector('tr[data-app=\"shop\"] a').click()")
                // Sorted by time consumed, GET /report leads; one click to its breakdown.
                let first = try await page.evaluate(
                    "document.querySelector('tr[data-transaction]').dataset.transaction"
                )
                #expect(first.string == "GET /report")
                try await page.navigating(by: "document.querySelector('tr[data-transaction] a').click()")
                #expect(try await page.location().contains("name=GET%20%2Freport"))
                let lead = try #require(try await Self.rows(page, "data-segment")["SQLite SELECT"])
                #expect(
                    lead["share"] == "90.0 %" && lead["calls-per-request"] == "1.00" && lead["category"] == "database"
                )
                let order = try await page.evaluate(
                    "Array.from(document.querySelectorAll('table.breakdown tr[data-segment]'), r => r.dataset.segment)"
                ).array.compactMap(\.string)
                #expect(order.first == "SQLite SELECT")
                // One more click: the statement, on the databases page, with who calls it.
                try await page.navigating(by: "document.querySelector('tr[data-segment=\"SQLite SELECT\"] a').click()")
                #expect(try await page.location().contains("/databases?transaction=GET%20%2Freport"))
                let row = try await page.evaluate(
                    "document.getElementById(decodeURIComponent(location.hash.slice(1))) !== null || document.getElementById(location.hash.slice(1)) !== null"
                )
                #expect(row == .bool(true), "the link's anchor names the operation's row")
                let callers = try await page.texts("tr[data-operation=\"SQLite SELECT\"] li[data-caller]")
                #expect(callers.first?.hasPrefix("GET /report 90.0 % of its time") == true, "\(callers)")
                Self.expectNoProblems(page, since: mark, on: "the diagnosis path")
            }
        }
    }

    /// The checks above are only worth something if the detector sees problems: a console error, an uncaught
    /// exception, a failed load and a Content-Security-Policy violation are each reported.
    @Test(.enabled(if: runs, "no Chromium is installed (.ci/run installs Debian's chromium)"))
    func theBrowserProblemDetectorSeesWhatGoesWrong() async throws {
        try await Support.withCollector(transport: .live) { _, client, _ in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let problems = try await HeadlessChromium.withPage { page in
                let mark = page.mark
                try await page.open("\(base)/login")
                try await page.evaluate(
                    """
                    console.error('an error on purpose');
                    setTimeout(() => { throw new Error('thrown on purpose') }, 0);
                    const image = document.createElement('img');
                    image.src = '/no-such-image.png';
                    document.body.append(image);
                    fetch('/healthz').catch(() => 0);
                    new Promise(r => setTimeout(r, 300))
                    """
                )
                try await Task.sleep(for: .milliseconds(200))
                return page.problems(after: mark)
            }
            #expect(problems.contains { $0.contains("status of 404") && $0.contains("no-such-image.png") })
            #expect(problems.contains { $0.contains("Content Security Policy") && $0.contains("healthz") })
            #expect(problems.contains { $0.contains("console.error: an error on purpose") })
            #expect(problems.contains { $0.contains("uncaught: Error: thrown on purpose") })
        }
    }
}
