import APMCollector
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The demo's stand-in for a team's webhook endpoint: a server on 127.0.0.1 that checks each alert
/// notification's signature and prints its summary, as docs/alerts.md tells a receiver to.
final class DemoWebhookReceiver: Service {
    let secret: String
    private let port = Mutex<Int?>(nil)

    init(secret: String) {
        self.secret = secret
    }

    /// The URL once listening.
    var url: String? { port.withLock { $0 }.map { "http://127.0.0.1:\($0)/apm-alerts" } }

    func run() async throws {
        let router = Router()
        router.post("/apm-alerts") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let timestamp = request.headers[HTTPField.Name("X-APM-Timestamp")!].flatMap { Int64($0) } ?? 0
            let signature = request.headers[HTTPField.Name("X-APM-Signature")!] ?? ""
            let valid = signature == AlertMessage.signature(secret: self.secret, timestamp: timestamp, body: body)
            let summary =
                ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["summary"] as? String ?? "?"
            print(
                "\n>>> webhook received (\(valid ? "signature ok" : "BAD SIGNATURE")) at \(ReportCommand.time(Date().timeIntervalSince1970)): \(summary)"
            )
            fflush(nil)
            return Response(status: valid ? .noContent : .unauthorized)
        }
        var logger = Logger(label: "apm.demo.webhook")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "demo-webhook"),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: logger
        )
        // No signal handling of its own: the demo decides when everything stops (with Hummingbird's default, Ctrl-C
        // ended this service at once, which ended the collector's service group before the app had flushed).
        try await app.runService(gracefulShutdownSignals: [])
    }
}
