import CAPMCurl
public import Foundation

/// Sends alert mail.
public protocol AlertMailer: Sendable {
    /// Sends one message.
    ///
    /// - Parameters:
    ///   - recipients: Addresses.
    ///   - message: The whole message (headers, blank line, body), CRLF line ends.
    /// - Throws: ``AlertDeliveryFailure`` with the server's or libcurl's words.
    func send(to recipients: [String], message: Data) async throws
}

/// Mail over SMTP through libcurl (STARTTLS required by default), each send on a thread of its own so that a
/// slow server never holds one of the collector's concurrency threads.
public struct SMTPMailer: AlertMailer {
    let settings: AlertSettings.SMTP
    let timeout: Duration

    /// Creates a mailer.
    ///
    /// - Parameters:
    ///   - settings: Server, credentials, sender, TLS.
    ///   - timeout: One message's deadline.
    public init(settings: AlertSettings.SMTP, timeout: Duration) {
        self.settings = settings
        self.timeout = timeout
    }

    /// Sends one message.
    ///
    /// - Parameters:
    ///   - recipients: Addresses.
    ///   - message: The message.
    /// - Throws: When the server did not take it.
    public func send(to recipients: [String], message: Data) async throws {
        let settings = self.settings
        let seconds = max(Int(timeout.components.seconds), 1)
        let outcome: (code: Int32, error: String, response: Int) = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var error = [CChar](repeating: 0, count: 512)
                var response = 0
                let code = Self.perform(
                    settings: settings,
                    recipients: recipients,
                    message: message,
                    seconds: seconds,
                    error: &error,
                    response: &response
                )
                let text = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                continuation.resume(returning: (code, text, response))
            }
        }
        guard outcome.code == 0 else {
            let reply = outcome.response > 0 ? " (server reply \(outcome.response))" : ""
            throw AlertDeliveryFailure(reason: "SMTP: \(outcome.error)\(reply)")
        }
    }

    private static func perform(
        settings: AlertSettings.SMTP,
        recipients: [String],
        message: Data,
        seconds: Int,
        error: inout [CChar],
        response: inout Int
    ) -> Int32 {
        let addresses = recipients.map { strdup("<\($0)>") }
        defer { for address in addresses { free(address) } }
        var pointers = addresses.map { UnsafePointer($0) }
        var reply: Int = 0
        let code = message.withUnsafeBytes { bytes in
            pointers.withUnsafeMutableBufferPointer { list in
                error.withUnsafeMutableBufferPointer { buffer in
                    apm_smtp_send(
                        settings.url,
                        settings.username,
                        settings.password,
                        settings.tls.curlLevel,
                        "<\(settings.from)>",
                        list.baseAddress,
                        Int32(list.count),
                        bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        bytes.count,
                        seconds,
                        settings.verifyPeer ? 1 : 0,
                        buffer.baseAddress,
                        &reply
                    )
                }
            }
        }
        response = reply
        return code
    }
}

extension AlertSettings.SMTP.TLS {
    fileprivate var curlLevel: Int32 {
        switch self {
        case .none: 0
        case .opportunistic: 1
        case .required: 2
        }
    }
}
