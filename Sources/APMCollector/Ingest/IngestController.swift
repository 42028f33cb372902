import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What agents and OpenTelemetry SDKs send, with a license key: agent batches and process reports, OTLP/HTTP
/// traces and logs (metrics are answered, not read), the agent's settings, and deployment markers by app name.
/// Every body is bounded in size and memory before it is read (``IngestMemoryBudget``) and every batch is
/// durable before it is acknowledged (``IngestPipeline``).
struct IngestController: CollectorController {
    let store: any AppStore & ProcessStore & PendingSpanStore
    let configuration: CollectorConfiguration
    let pipeline: IngestPipeline
    let memoryBudget: IngestMemoryBudget
    let metrics: CollectorMetrics
    let pendingSpanCounter: PendingSpanCounter
    let administration: Administration
    let now: @Sendable () -> Double

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.post("/v1/agent/batches") { request, context in try await self.ingest(request, context: context) }
        routes.post("/v1/agent/process") { request, context in try await self.ingestProcess(request, context: context) }
        routes.post("/v1/traces") { request, context in try await self.ingestOTLPTraces(request, context: context) }
        routes.post("/v1/logs") { request, context in try await self.ingestOTLPLogs(request, context: context) }
        routes.post("/v1/metrics") { request, context in try await self.ingestOTLPMetrics(request, context: context) }
        routes.get("/v1/agent/settings") { request, context in try await self.agentSettings(request, context: context) }
        // A deployment marker by app name, with the license key a deploy step has at hand.
        routes.post("/v1/agent/deployments") { request, context in
            let key = try context.require(.recordDeployment)
            let body = try await Self.decodeBody(DeploymentRequest.self, request)
            guard let name = body.app,
                let app = try await self.store.apps(accountID: key.accountID).first(where: { $0.name == name })
            else {
                throw APIError(
                    .notFound,
                    code: "not_found",
                    field: "app",
                    message:
                        "no app named \((body.app ?? "").prefix(255)) in this account; it appears on its first report"
                )
            }
            let deployment = try await self.administration.recordDeployment(body, app: app, now: self.now())
            return try Self.json(APIDeployment(deployment), status: .created)
        }
        return routes
    }
}
