import Foundation

/// Headless Chromium from the system's packages (Debian: `chromium`), started for one test with a profile of
/// its own and driven over the DevTools protocol.
enum HeadlessChromium {
    /// `APM_CHROMIUM`, or the first of chromium, chromium-browser and google-chrome on the PATH.
    static var executable: String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["APM_CHROMIUM"], !path.isEmpty { return path }
        let directories = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    /// Set by `.ci/run`: a missing browser then fails the browser tests instead of skipping them.
    static var isRequired: Bool { ProcessInfo.processInfo.environment["APM_REQUIRE_BROWSER"] == "1" }

    /// Starts the browser, opens one tab, and runs `body` with it; the browser is closed afterwards.
    static func withPage<T: Sendable>(
        width: Int = 1280,
        height: Int = 900,
        _ body: @escaping @Sendable (BrowserPage) async throws -> T
    ) async throws -> T {
        guard let executable else {
            throw DevToolsError(description: "no Chromium found: install Debian's chromium or set APM_CHROMIUM")
        }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("apm-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*",
            "--user-data-dir=\(profile.path)", "--window-size=\(width),\(height)", "about:blank",
        ]
        let log = profile.appendingPathComponent("chromium.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? logHandle.close()
        }
        // Chromium writes the port it chose and the browser's WebSocket path once it listens.
        let portFile = profile.appendingPathComponent("DevToolsActivePort")
        let deadline = ContinuousClock.now + .seconds(60)
        var endpoint: String?
        while endpoint == nil {
            if let text = try? String(contentsOf: portFile, encoding: .utf8) {
                let lines = text.split(separator: "\n")
                if lines.count >= 2 { endpoint = "ws://127.0.0.1:\(lines[0])\(lines[1])" }
            }
            guard endpoint == nil else { break }
            guard process.isRunning, ContinuousClock.now < deadline else {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw DevToolsError(description: "Chromium did not start (\(executable)): \(output.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await DevToolsConnection.withConnection(to: endpoint!) { connection in
            let target = try await connection.send("Target.createTarget", ["url": .string("about:blank")])
            let attached = try await connection.send(
                "Target.attachToTarget",
                ["targetId": target["targetId"], "flatten": .bool(true)]
            )
            guard let session = attached["sessionId"].string else {
                throw DevToolsError(description: "Target.attachToTarget gave no session id")
            }
            let page = BrowserPage(connection: connection, session: session)
            try await page.enable(width: width, height: height)
            let result = try await body(page)
            _ = try? await connection.send("Browser.close", timeout: .seconds(5))
            return result
        }
    }
}

/// One browser tab.
struct BrowserPage: Sendable {
    let connection: DevToolsConnection
    let session: String

    func enable(width: Int, height: Int) async throws {
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            try await connection.send(domain, session: session)
        }
        try await connection.send(
            "Emulation.setDeviceMetricsOverride",
            [
                "width": .number(Double(width)), "height": .number(Double(height)), "deviceScaleFactor": .number(1),
                "mobile": .bool(false),
            ],
            session: session
        )
    }

    /// A mark to pass to ``problems(after:)``.
    var mark: Int { connection.eventCount }

    /// Opens `url` and waits for its load event.
    func open(_ url: String) async throws {
        let mark = connection.eventCount
        let result = try await connection.send("Page.navigate", ["url": .string(url)], session: session)
        if let error = result["errorText"].string { throw DevToolsError(description: "opening \(url): \(error)") }
        try await connection.waitForEvent("Page.loadEventFired", session: session, after: mark)
    }

    /// Runs a script that leaves the page (a click, a form's submit) and waits for the next page's load event.
    func navigating(by script: String) async throws {
        let mark = connection.eventCount
        try await evaluate(script)
        try await connection.waitForEvent("Page.loadEventFired", session: session, after: mark)
    }

    /// Evaluates JavaScript in the page and returns its value (JSON-serialisable values only).
    @discardableResult
    func evaluate(_ expression: String) async throws -> JSONValue {
        let reply = try await connection.send(
            "Runtime.evaluate",
            ["expression": .string(expression), "returnByValue": .bool(true), "awaitPromise": .bool(true)],
            session: session
        )
        if case .object = reply["exceptionDetails"] {
            throw DevToolsError(
                description:
                    "script failed: \(reply["exceptionDetails"]["exception"]["description"].string ?? expression)"
            )
        }
        return reply["result"]["value"]
    }

    /// `location.pathname + location.search`.
    func location() async throws -> String {
        try await evaluate("location.pathname + location.search").string ?? ""
    }

    /// The trimmed text of the first element matching `selector`, or `nil` when none does.
    func text(_ selector: String) async throws -> String? {
        try await evaluate("document.querySelector(\(Self.literal(selector)))?.textContent.trim() ?? null").string
    }

    /// The trimmed texts of every element matching `selector`.
    func texts(_ selector: String) async throws -> [String] {
        try await evaluate(
            "Array.from(document.querySelectorAll(\(Self.literal(selector))), e => e.textContent.trim())"
        ).array.compactMap(\.string)
    }

    /// How many elements match `selector`.
    func count(_ selector: String) async throws -> Int {
        Int(try await evaluate("document.querySelectorAll(\(Self.literal(selector))).length").number ?? -1)
    }

    /// What the browser reported as wrong since `mark`: console errors, uncaught exceptions, failed loads,
    /// Content-Security-Policy violations and any dialog (an `alert` would mean injected script ran).
    func problems(after mark: Int) -> [String] {
        connection.events(after: mark).compactMap { event -> String? in
            guard event["sessionId"].string == session else { return nil }
            let params = event["params"]
            switch event["method"].string {
            case "Runtime.consoleAPICalled" where ["error", "assert"].contains(params["type"].string ?? ""):
                let texts = params["args"].array.map { $0["value"].string ?? $0["description"].string ?? "" }
                return "console.\(params["type"].string ?? "error"): \(texts.joined(separator: " "))"
            case "Runtime.exceptionThrown":
                let details = params["exceptionDetails"]
                return "uncaught: \(details["exception"]["description"].string ?? details["text"].string ?? "")"
            case "Log.entryAdded" where params["entry"]["level"].string == "error":
                let entry = params["entry"]
                return "\(entry["source"].string ?? "log"): \(entry["text"].string ?? "") \(entry["url"].string ?? "")"
            case "Page.javascriptDialogOpening":
                return "a dialog opened: \(params["message"].string ?? "")"
            default:
                return nil
            }
        }
    }

    /// A PNG of the viewport.
    func screenshot() async throws -> Data {
        let result = try await connection.send("Page.captureScreenshot", ["format": .string("png")], session: session)
        guard let base64 = result["data"].string, let data = Data(base64Encoded: base64) else {
            throw DevToolsError(description: "Page.captureScreenshot returned no image")
        }
        return data
    }

    /// A JavaScript string literal.
    static func literal(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
