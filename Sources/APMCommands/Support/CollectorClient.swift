import APMAgent
import APMCollector
import APMCore
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Talks to the collector's JSON API for the CLI verbs.
struct CollectorClient {
    let baseURL: String
    /// An API token, or a license key (which can only send data and record deployments).
    let credential: String
    let session: URLSession

    init(baseURL: String, credential: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.credential = credential
        let configuration = URLSessionConfiguration.ephemeral
        // Long enough for a report over days of data on a busy collector.
        configuration.timeoutIntervalForRequest = 30
        self.session = URLSession(configuration: configuration)
    }

    /// Sends a request and returns the body of a 2xx answer.
    func send(_ method: String, _ path: String, body: Data? = nil) async throws -> Data {
        guard let url = URL(string: baseURL + path) else {
            throw CommandFailure(message: "invalid collector URL \(baseURL)", exitCode: APMExit.configuration)
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(credential)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw CommandFailure(
                message:
                    "cannot reach the collector at \(baseURL) (\(error.localizedDescription)); is `apm collector` running, and is collector_url right?",
                exitCode: APMExit.collectorUnreachable
            )
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let detail =
                (try? JSONDecoder().decode(APIError.Body.self, from: data)).map {
                    $0.error.field.isEmpty ? $0.error.message : "\($0.error.field) \($0.error.message)"
                }
                ?? String(decoding: data.prefix(300), as: UTF8.self)
            if status == 401 || status == 403 {
                throw CommandFailure(
                    message:
                        "the collector rejected the \(credential.hasPrefix("apt_") ? "API token" : "license key"): \(detail)",
                    exitCode: APMExit.keyRejected
                )
            }
            throw CommandFailure(message: "the collector answered HTTP \(status): \(detail)", exitCode: APMExit.failure)
        }
        return data
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
        let data = try await send("GET", path)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw CommandFailure(
                message: "unexpected answer from the collector for \(path): \(error)",
                exitCode: APMExit.failure
            )
        }
    }

    /// Every app of the account, page by page (`GET /api/v1/apps` answers a page at a time).
    ///
    /// - Parameters:
    ///   - type: How to decode an app.
    ///   - query: Extra query parameters, e.g. `since=1h`.
    /// - Returns: The apps, by name.
    func allApps<App: Decodable>(_ type: App.Type, query: String = "") async throws -> [App] {
        var apps: [App] = []
        while true {
            let page = try await get(
                AppPage<App>.self,
                "/api/v1/apps?limit=500&offset=\(apps.count)" + (query.isEmpty ? "" : "&" + query)
            )
            apps += page.apps
            if page.apps.isEmpty || apps.count >= (page.total ?? apps.count) { return apps }
        }
    }

    /// Whether the collector answers `/healthz`.
    func isReachable() async -> Bool {
        guard let url = URL(string: baseURL + "/healthz") else { return false }
        return (try? await session.data(from: url)).map { ($0.1 as? HTTPURLResponse)?.statusCode == 200 } ?? false
    }

    static func encodePath(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? value
    }

    /// A query parameter's value, percent-encoded (a space as `%20`, a plus as `%2B`).
    static func encodeQuery(_ value: String) -> String {
        encodePath(value)
    }
}

/// One page of `GET /api/v1/apps`.
struct AppPage<App: Decodable>: Decodable {
    var apps: [App]
    var total: Int?
}
