import APMStorage
import Foundation
import HTTPTypes

/// Alert administration with one set of rules for the API, the dashboard and the CLI.
struct AlertAdministration: Sendable {
    let store: any AlertStore & AppStore
    let notifier: AlertNotifier

    /// Channels an account may have: each is a destination the collector calls.
    static let maxChannels = 100
    /// Conditions an account may have: each is evaluated every minute.
    static let maxConditions = 1000

    static func limitReached(_ what: String, _ limit: Int) -> APIError {
        APIError(
            .unprocessableContent,
            code: "limit_reached",
            message: "this account has \(limit) alert \(what), the most it may have; delete one first"
        )
    }

    /// Stores a condition that passes ``AlertValidation``.
    func createCondition(
        _ request: AlertConditionRequest,
        accountID: Int64,
        now: Double
    ) async throws
        -> AlertConditionRecord
    {
        try await store.createAlertCondition(try await checkedCondition(request, accountID: accountID, now: now))
    }

    /// The condition ``createCondition(_:accountID:now:)`` would store, or the refusal it would answer: the
    /// dashboard asks again after sending a refused form back to the page, so that the reason it shows is the
    /// collector's, never text from the address.
    func checkedCondition(
        _ request: AlertConditionRequest,
        accountID: Int64,
        now: Double
    ) async throws
        -> AlertConditionRecord
    {
        guard try await store.alertConditions(accountID: accountID).count < Self.maxConditions else {
            throw Self.limitReached("conditions", Self.maxConditions)
        }
        let apps = Set(try await store.apps(accountID: accountID).map(\.id))
        let channels = Set(try await store.alertChannels(accountID: accountID).map(\.id))
        let record: AlertConditionRecord
        do {
            record = try AlertValidation.condition(
                request,
                accountID: accountID,
                apps: apps,
                channels: channels,
                now: now
            )
        } catch {
            throw APIError.badRequest(error.field, error.message)
        }
        return record
    }

    /// Stores a channel that passes ``AlertValidation``, with a random secret unless one was given.
    func createChannel(
        _ request: AlertChannelRequest,
        accountID: Int64,
        now: Double
    ) async throws
        -> AlertChannelRecord
    {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }
            .joined()
        let record: AlertChannelRecord
        do {
            record = try AlertValidation.channel(
                request,
                accountID: accountID,
                generatedSecret: secret,
                mailConfigured: notifier.mailer != nil,
                now: now
            )
        } catch {
            throw APIError.badRequest(error.field, error.message)
        }
        guard try await store.alertChannels(accountID: accountID).count < Self.maxChannels else {
            throw Self.limitReached("channels", Self.maxChannels)
        }
        if record.kind != .email {
            // Refused at once when it resolves inside; a name that does not resolve now is checked again at
            // every delivery (the test button says so).
            do {
                _ = try await notifier.settings.destinationPolicy.check(url: record.target)
            } catch let failure as AlertDeliveryFailure where failure.reason.hasPrefix("refused") {
                throw APIError.badRequest("url", failure.reason)
            } catch {}
        }
        return try await store.createAlertChannel(record)
    }

    /// Sends a test notification to a channel now and returns its outcome (kept with the other notifications; a
    /// failure is retried like any other).
    ///
    /// - Returns: The notification, or `nil` when there is no such channel.
    func sendTest(accountID: Int64, channelID: Int64, now: Double) async throws -> AlertDeliveryRecord? {
        guard let channel = try await store.alertChannels(accountID: accountID).first(where: { $0.id == channelID })
        else { return nil }
        // Queued as not due, so that the collector sending the queue does not send it at the same time as this.
        let queued = try await store.enqueueAlertDelivery(
            AlertDeliveryRecord(
                accountID: accountID,
                channelID: channelID,
                incidentID: nil,
                event: .test,
                nextAttemptAt: now + 3600,
                createdAt: now
            )
        )
        let attempted = await notifier.attempt(queued, channel: channel, now: now)
        try await store.updateAlertDelivery(attempted)
        return attempted
    }
}
