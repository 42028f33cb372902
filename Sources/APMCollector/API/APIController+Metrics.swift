import APMCore
import APMStorage
import Foundation
import Hummingbird

extension APIController {
    /// `GET /api/v1/apps/:app/metrics`: the metrics the app reports.
    @Sendable func metricList(_ request: Request, _ context: Context) async throws -> Response {
        let (app, _) = try await appAndRange(request, context)
        return try Self.json(try await queries.metrics(app: app))
    }

    /// `GET /api/v1/apps/:app/metrics/:name`: one metric over the range, grouped by `group_by` (an attribute key
    /// or `host`), on one `host` when given.
    @Sendable func metric(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await appAndRange(request, context)
        guard let raw = context.parameters.get("name"), let name = raw.removingPercentEncoding, !name.isEmpty,
            name.utf8.count <= MetricPoint.maxNameBytes
        else {
            throw APIError.badRequest("name", "must be a metric name of 1 to \(MetricPoint.maxNameBytes) bytes")
        }
        let groupBy = try Self.shortText(request, "group_by")
        var filters = try Self.shortText(request, "host").map { [MetricSeriesFilter(key: "host", value: $0)] } ?? []
        if let text = try Self.shortText(request, "filter") {
            guard let filter = MetricSeriesFilter(parsing: text) else {
                throw APIError.badRequest("filter", "must be key=value (an attribute of the series, or host=NAME)")
            }
            filters.append(filter)
        }
        guard
            let series = try await queries.metric(
                app: app,
                name: name,
                range: range,
                groupBy: groupBy,
                filters: filters
            )
        else {
            let known = try await queries.metrics(app: app).metrics.map(\.name)
            let hint =
                known.isEmpty ? "the app reports no metrics" : "it reports " + known.prefix(20).joined(separator: ", ")
            throw APIError(.notFound, code: "not_found", message: "app \(app.id) has no metric \(name): \(hint)")
        }
        return try Self.json(series)
    }

    /// `GET /api/v1/hosts`: the hosts the account's apps run on, with their latest figures and apps.
    @Sendable func hostList(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.read)
        return try Self.json(try await queries.hosts(accountID: key.accountID, range: try range(request)))
    }

    /// `GET /api/v1/hosts/:host`: one host's figures, apps and charts over the range.
    @Sendable func host(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.read)
        guard let raw = context.parameters.get("host"), let name = raw.removingPercentEncoding, !name.isEmpty,
            name.utf8.count <= 255
        else {
            throw APIError.badRequest("host", "must be a host name of 1 to 255 bytes")
        }
        guard let host = try await queries.host(named: name, accountID: key.accountID, range: try range(request)) else {
            throw APIError(
                .notFound,
                code: "not_found",
                message: "no app of this account reports metrics from host \(name)"
            )
        }
        return try Self.json(host)
    }

    /// An optional query parameter of at most 255 bytes.
    static func shortText(_ request: Request, _ name: String) throws -> String? {
        guard let value = request.queryFields[name], !value.isEmpty else { return nil }
        guard value.utf8.count <= 255 else { throw APIError.badRequest(name, "must be at most 255 bytes") }
        return value
    }
}
