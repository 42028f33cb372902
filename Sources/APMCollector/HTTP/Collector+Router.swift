import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Collector {
    typealias Context = CollectorRequestContext

    /// The router: the middlewares every request passes (security headers and host check, store failures for
    /// `/healthz`, authentication), then ingest, the dashboard, the API under `/api/v1`, and the collector's
    /// own health and metrics endpoints.
    func makeRouter() -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: SecurityMiddleware(allowedHosts: allowedHosts))
        router.add(
            middleware: StoreErrorMiddleware(recognize: { [store] in store.storeError(for: $0) }) {
                [weak self] message in
                self?.recordStoreFailure(message)
            }
        )
        router.add(middleware: AuthenticationMiddleware(authenticator: authenticator, sessions: sessions))
        router.addRoutes(
            IngestController(
                store: store,
                configuration: configuration,
                pipeline: pipeline,
                memoryBudget: memoryBudget,
                metrics: metrics,
                pendingSpanCounter: pendingSpanCounter,
                administration: administration,
                now: now
            ).endpoints
        )
        router.addRoutes(
            DashboardController(
                store: store,
                queries: queries,
                configuration: configuration,
                sessions: sessions,
                signInGuard: signInGuard,
                administration: administration,
                alerts: AlertAdministration(store: store, notifier: alertNotifier),
                now: now
            ).endpoints
        )
        router.addRoutes(
            APIController(
                store: store,
                queries: queries,
                administration: administration,
                alerts: AlertAdministration(store: store, notifier: alertNotifier),
                now: now
            ).endpoints,
            atPath: "/api/v1"
        )
        // Readiness: the store reads, its disk has room, and commits succeed. Liveness: the process answers.
        router.get("/healthz") { _, _ in
            let problems = await self.healthProblems()
            return try JSONReply.response(
                HealthReply(status: problems.isEmpty ? "ok" : "unavailable", problems: problems),
                status: problems.isEmpty ? .ok : .serviceUnavailable
            )
        }
        router.get("/livez") { _, _ in
            try JSONReply.response(["status": "alive"])
        }
        router.get("/metrics") { _, _ in
            await self.refreshStoreGauges()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.metrics.render()))
            )
        }
        return router
    }
}

/// The answer of `/healthz`.
struct HealthReply: Encodable {
    var status: String
    var problems: [String]
}
