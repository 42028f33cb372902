import APMCore
public import APMStorage
import AsyncHTTPClient
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1

/// Sends one HTTP notification; the collector's uses AsyncHTTPClient.
public protocol AlertTransport: Sendable {
    /// POSTs `body` to `url`.
    ///
    /// - Parameters:
    ///   - url: Where.
    ///   - headers: The headers.
    ///   - body: The body.
    ///   - timeout: The whole request's deadline.
    /// - Returns: The HTTP status.
    /// - Throws: When there is no answer.
    func post(url: String, headers: [String: String], body: Data, timeout: Duration) async throws -> Int
}

/// Notifications over HTTP with AsyncHTTPClient, to destinations that pass an ``AlertDestinationPolicy``: the
/// connection goes to the address that was checked (a client per notification, its DNS pinned), and redirects
/// are not followed (a 3xx is a failed delivery naming the status).
public struct HTTPAlertTransport: AlertTransport {
    let policy: AlertDestinationPolicy

    /// Creates the transport.
    ///
    /// - Parameter policy: Where notifications may go.
    public init(policy: AlertDestinationPolicy = AlertDestinationPolicy()) {
        self.policy = policy
    }

    /// POSTs `body` to `url`.
    ///
    /// - Parameters:
    ///   - url: Where.
    ///   - headers: The headers.
    ///   - body: The body.
    ///   - timeout: The whole request's deadline.
    /// - Returns: The HTTP status.
    /// - Throws: When the destination is refused or there is no answer.
    public func post(url: String, headers: [String: String], body: Data, timeout: Duration) async throws -> Int {
        let destination = try await policy.check(url: url)
        // AsyncHTTPClient tries a refused connection again until the request's deadline (10 s for nothing): a
        // refusal is answered at once here instead.
        let port = URLComponents(string: url).flatMap { components in
            components.port ?? (components.scheme?.lowercased() == "https" ? 443 : 80)
        }
        if let port, await TCPProbe.isRefused(host: destination.address, port: port) {
            throw AlertDeliveryFailure(
                reason: "connection refused: nothing listens at \(destination.host):\(port)"
            )
        }
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        let bare = destination.host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        configuration.dnsOverride[destination.host] = destination.address
        configuration.dnsOverride[bare] = destination.address
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            try? await client.shutdown()
            return Int(response.status.code)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Delivers queued notifications: every due one at once, each bounded by its timeout, so one channel that is
/// down never delays the others; failures are retried with exponential backoff and given up after
/// ``AlertSettings/maxAttempts``; every attempt's outcome is kept for the alerts page and API.
public struct AlertNotifier: Sendable {
    let store: any AlertStore & AppStore & ErrorGroupStore
    let transport: any AlertTransport
    let settings: AlertSettings
    let mailer: (any AlertMailer)?
    let logger: Logger

    /// Creates a notifier.
    ///
    /// - Parameters:
    ///   - store: The store (the outbox).
    ///   - transport: How HTTP notifications go out.
    ///   - settings: Timeouts, retries, the dashboard's URL, the mail server.
    ///   - mailer: How mail goes out; by default SMTP through libcurl when `smtp_url` is set.
    ///   - logger: The logger.
    public init(
        store: any AlertStore & AppStore & ErrorGroupStore,
        transport: any AlertTransport,
        settings: AlertSettings,
        mailer: (any AlertMailer)? = nil,
        logger: Logger
    ) {
        self.store = store
        self.transport = transport
        self.settings = settings
        self.mailer =
            mailer
            ?? settings.smtp.flatMap { $0.isConfigured ? SMTPMailer(settings: $0, timeout: settings.timeout) : nil }
        self.logger = logger
    }

    /// Sends every notification due at `now`.
    ///
    /// - Parameter now: Unix seconds.
    /// - Returns: The deliveries attempted, with their new state.
    /// - Throws: Store errors.
    @discardableResult
    public func deliverDue(now: Double) async throws -> [AlertDeliveryRecord] {
        let due = try await store.dueAlertDeliveries(now: now, limit: 200)
        guard !due.isEmpty else { return [] }
        var channels: [Int64: AlertChannelRecord] = [:]
        for accountID in Set(due.map(\.accountID)) {
            for channel in try await store.alertChannels(accountID: accountID) { channels[channel.id] = channel }
        }
        let known = channels
        return try await withThrowingTaskGroup(of: AlertDeliveryRecord.self) { group in
            for delivery in due {
                group.addTask {
                    let attempted = await self.attempt(delivery, channel: known[delivery.channelID], now: now)
                    try await self.store.updateAlertDelivery(attempted)
                    return attempted
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// One attempt: the delivery with its outcome recorded.
    func attempt(
        _ delivery: AlertDeliveryRecord,
        channel: AlertChannelRecord?,
        now: Double
    ) async -> AlertDeliveryRecord {
        var delivery = delivery
        delivery.attempts += 1
        guard let channel else {
            delivery.gaveUpAt = now
            delivery.lastError = "the channel was deleted"
            return delivery
        }
        do {
            let message = try await message(for: delivery, channel: channel, now: now)
            if channel.kind == .email {
                guard let mailer, let from = settings.smtp?.from else {
                    throw AlertDeliveryFailure(reason: "no mail server: set smtp_url and smtp_from in collector.ini")
                }
                try await mailer.send(
                    to: [channel.target],
                    message: message.mail(from: from, to: channel.target, timestamp: Int64(now))
                )
            } else {
                let status = try await transport.post(
                    url: channel.target,
                    headers: message.headers,
                    body: message.body,
                    timeout: settings.timeout
                )
                guard (200..<300).contains(status) else { throw AlertDeliveryFailure(reason: "HTTP \(status)") }
            }
            delivery.deliveredAt = now
            delivery.lastError = nil
        } catch {
            let reason = Self.describe(error, target: channel.target, timeout: settings.timeout)
            delivery.lastError = String(reason.prefix(500))
            if delivery.attempts >= settings.maxAttempts {
                delivery.gaveUpAt = now
                logger.error(
                    "alert notification \(delivery.id) to channel \"\(channel.name)\" given up after \(delivery.attempts) attempts: \(reason)"
                )
            } else {
                delivery.nextAttemptAt = now + backoff(attempts: delivery.attempts)
                logger.warning(
                    "alert notification \(delivery.id) to channel \"\(channel.name)\" failed (\(reason)); retrying"
                )
            }
        }
        return delivery
    }

    /// A failed attempt in a few words a person acts on (NIO's own read "connection reset (error set): Connection
    /// refused) (errno: 111)").
    static func describe(_ error: any Error, target: String, timeout: Duration) -> String {
        if let failure = error as? AlertDeliveryFailure { return failure.reason }
        let text = String(describing: error)
        let place =
            URLComponents(string: target).map { components in
                "\(components.host ?? target)\(components.port.map { ":\($0)" } ?? "")"
            } ?? target
        if text.contains("Connection refused") || text.contains("errno: 111") {
            return "connection refused: nothing listens at \(place)"
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return "no answer from \(place) within \(timeout) (alert_notification_timeout)"
            case .remoteConnectionClosed:
                return "\(place) closed the connection without an answer"
            default:
                break
            }
        }
        if text.contains("NXDOMAIN") || text.lowercased().contains("name or service not known") {
            return "\(place): no such host"
        }
        if text.contains("certificate") || text.contains("handshake") {
            return "TLS with \(place) failed: \(text)"
        }
        return text
    }

    /// Seconds before the next attempt: the base doubling per attempt, at most 30 minutes.
    func backoff(attempts: Int) -> Double {
        min(settings.retryBase * Double(1 << min(max(attempts - 1, 0), 16)), 1800)
    }

    private func message(
        for delivery: AlertDeliveryRecord,
        channel: AlertChannelRecord,
        now: Double
    ) async throws
        -> AlertMessage
    {
        var incident: AlertIncidentRecord?
        var condition: AlertConditionRecord?
        var issue: ErrorGroup?
        var app: StoredApp?
        if let issueID = delivery.issueID {
            condition = try await store.alertConditions(accountID: delivery.accountID).first {
                $0.id == delivery.conditionID
            }
            if let condition {
                app = try await store.app(accountID: delivery.accountID, id: condition.appID)
                issue = try await store.errorGroup(appID: condition.appID, id: issueID)
            }
        } else if let incidentID = delivery.incidentID {
            incident = try await store.alertIncident(id: incidentID)
            if let incident {
                condition = try await store.alertConditions(accountID: incident.accountID).first {
                    $0.id == incident.conditionID
                }
                app = try await store.app(accountID: incident.accountID, id: incident.appID)
            }
        }
        return try AlertMessage.build(
            delivery: delivery,
            channel: channel,
            incident: incident,
            condition: condition,
            issue: issue,
            app: app,
            dashboardURL: settings.dashboardURL,
            timestamp: Int64(now)
        )
    }
}

/// Why an attempt failed, in a few words.
public struct AlertDeliveryFailure: Error, Sendable {
    /// The reason.
    public var reason: String

    /// Creates a failure.
    ///
    /// - Parameter reason: The reason.
    public init(reason: String) {
        self.reason = reason
    }
}
