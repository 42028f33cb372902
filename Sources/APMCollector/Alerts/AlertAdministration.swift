import APMStorage
import Foundation

/// Alert administration with one set of rules for the API, the dashboard and the CLI.
struct AlertAdministration: Sendable {
    let store: any APMStore
    let notifier: AlertNotifier

    /// Stores a condition that passes ``AlertValidation``.
    func createCondition(
        _ request: AlertConditionRequest,
        accountID: Int64,
        now: Double
    ) async throws
        -> AlertConditionRecord
    {
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
        return try await store.createAlertCondition(record)
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
