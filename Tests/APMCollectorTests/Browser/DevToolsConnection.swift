import Foundation
import Logging
import NIOWebSocket
import Synchronization
import WSClient

/// Any JSON value, for the DevTools protocol's free-form messages.
enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    subscript(key: String) -> JSONValue {
        if case .object(let members) = self { return members[key] ?? .null }
        return .null
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var array: [JSONValue] {
        if case .array(let value) = self { return value }
        return []
    }
}

/// A DevTools protocol failure: a command's error reply, a timeout, or a closed connection.
struct DevToolsError: Error, CustomStringConvertible {
    var description: String
}

/// One connection to a browser's DevTools endpoint. Commands wait for their reply; every event is kept so
/// that a test can look for one that arrived after a point (`eventCount` before acting, then `waitForEvent`).
///
/// Replies and events are polled every 10 ms rather than delivered through continuations: a test that times
/// out then simply stops polling, with nothing left suspended.
final class DevToolsConnection: Sendable {
    private struct State {
        var nextID = 0
        var replies: [Int: JSONValue] = [:]
        var events: [JSONValue] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let outbound: WebSocketOutboundWriter

    private init(outbound: WebSocketOutboundWriter) {
        self.outbound = outbound
    }

    /// Connects to `url` and runs `body` while connected.
    static func withConnection<T: Sendable>(
        to url: String,
        _ body: @escaping @Sendable (DevToolsConnection) async throws -> T
    ) async throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        var logger = Logger(label: "apm.test.devtools")
        logger.logLevel = .critical
        try await WebSocketClient.connect(
            url: url,
            configuration: .init(maxFrameSize: 1 << 24),
            logger: logger
        ) { inbound, outbound, _ in
            let connection = DevToolsConnection(outbound: outbound)
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 26) {
                        if case .text(let text) = message { connection.receive(text) }
                    }
                    connection.state.withLock { $0.closed = true }
                }
                let outcome: Result<T, any Error>
                do {
                    outcome = .success(try await body(connection))
                } catch {
                    outcome = .failure(error)
                }
                result.withLock { $0 = outcome }
                try? await outbound.close(.normalClosure, reason: nil)
                group.cancelAll()
            }
        }
        guard let outcome = result.withLock({ $0 }) else {
            throw DevToolsError(description: "the DevTools connection to \(url) closed before the test ran")
        }
        return try outcome.get()
    }

    private func receive(_ text: String) {
        guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return }
        state.withLock { state in
            if let id = message["id"].number {
                state.replies[Int(id)] = message
            } else {
                state.events.append(message)
            }
        }
    }

    /// Sends a command and waits for its result.
    ///
    /// - Parameters:
    ///   - method: The protocol method, e.g. `Page.navigate`.
    ///   - params: Its parameters.
    ///   - session: The target session (flat mode), or `nil` for the browser.
    ///   - timeout: How long to wait for the reply.
    /// - Returns: The reply's `result`.
    @discardableResult
    func send(
        _ method: String,
        _ params: [String: JSONValue] = [:],
        session: String? = nil,
        timeout: Duration = .seconds(20)
    ) async throws -> JSONValue {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        var message: [String: JSONValue] = [
            "id": .number(Double(id)), "method": .string(method), "params": .object(params),
        ]
        if let session { message["sessionId"] = .string(session) }
        let data = try JSONEncoder().encode(JSONValue.object(message))
        try await outbound.write(.text(String(decoding: data, as: UTF8.self)))
        let reply = try await poll("the reply to \(method)", timeout: timeout) {
            $0.replies.removeValue(forKey: id)
        }
        if case .object = reply["error"] {
            throw DevToolsError(description: "\(method) failed: \(reply["error"]["message"].string ?? "unknown error")")
        }
        return reply["result"]
    }

    /// How many events have arrived so far.
    var eventCount: Int { state.withLock { $0.events.count } }

    /// The events that arrived after the first `index`.
    func events(after index: Int) -> [JSONValue] {
        state.withLock { Array($0.events.dropFirst(index)) }
    }

    /// Waits for an event named `method` (of `session`) that arrived after the first `index` events.
    @discardableResult
    func waitForEvent(
        _ method: String,
        session: String?,
        after index: Int,
        timeout: Duration = .seconds(20)
    ) async throws -> JSONValue {
        try await poll("the event \(method)", timeout: timeout) { state in
            state.events.dropFirst(index).first {
                $0["method"].string == method && $0["sessionId"].string == session
            }
        }
    }

    private func poll<T: Sendable>(
        _ what: String,
        timeout: Duration,
        _ check: @Sendable (inout State) -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (found, closed) = state.withLock { state in (check(&state), state.closed) }
            if let found { return found }
            if closed {
                throw DevToolsError(description: "the browser closed the connection while waiting for \(what)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw DevToolsError(description: "timed out after \(timeout) waiting for \(what)")
    }
}
