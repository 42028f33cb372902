import APMStorage
import Foundation
import HTTPTypes

extension Administration {
    /// The states a user may set (a regression is the collector's to find).
    static let settableIssueStates: [ErrorGroupState] = [.unresolved, .resolved, .resolvedInNextDeployment, .ignored]

    /// Checks a requested issue state and turns it into a change: the one rule for the API and the dashboard.
    ///
    /// - Parameters:
    ///   - request: The state asked for, with an ignore's limits.
    ///   - now: The time (an ignore's date must be later).
    /// - Returns: The change.
    /// - Throws: ``APIError`` 400 naming the field and what is allowed.
    static func issueStateChange(_ request: IssueStateRequest, now: Double) throws -> ErrorGroupStateChange {
        let allowed = settableIssueStates.map(\.rawValue).joined(separator: ", ")
        guard let state = ErrorGroupState(rawValue: request.state) else {
            throw APIError.badRequest("state", "must be one of \(allowed); got \"\(request.state.prefix(40))\"")
        }
        let limits = request.ignoreMoreOccurrences != nil || request.ignoreUntil != nil
        guard state == .ignored || !limits else {
            throw APIError.badRequest("ignore_more_occurrences", "and ignore_until go only with state ignored")
        }
        switch state {
        case .unresolved: return .reopen
        case .resolved: return .resolve
        case .resolvedInNextDeployment: return .resolveInNextDeployment
        case .regressed:
            throw APIError.badRequest(
                "state",
                "regressed is set by the collector when a resolved issue occurs again; set one of \(allowed)"
            )
        case .ignored:
            if let more = request.ignoreMoreOccurrences, !(1...1_000_000_000_000).contains(more) {
                throw APIError.badRequest("ignore_more_occurrences", "must be a whole number from 1 to 10^12")
            }
            if let until = request.ignoreUntil, !(until.isFinite && until > now && until - now <= 366 * 86_400) {
                throw APIError.badRequest("ignore_until", "must be a Unix time later than now and within a year")
            }
            return .ignore(moreOccurrences: request.ignoreMoreOccurrences, until: request.ignoreUntil)
        }
    }

    /// Changes an issue's state as a user asks.
    ///
    /// - Parameters:
    ///   - request: The state asked for.
    ///   - groupID: The issue (error group).
    ///   - app: Its app.
    ///   - user: Who asks.
    ///   - now: The time.
    /// - Returns: The new status.
    /// - Throws: ``APIError`` 400 for a state not allowed, 404 for an issue the app does not have.
    func changeIssueState(
        _ request: IssueStateRequest,
        groupID: Int64,
        app: StoredApp,
        by user: String,
        now: Double
    ) async throws -> ErrorGroupStatus {
        let change = try Self.issueStateChange(request, now: now)
        guard
            let status = try await store.changeErrorGroupState(
                appID: app.id,
                groupID: groupID,
                to: change,
                by: user,
                at: now
            )
        else { throw APIError(.notFound, code: "not_found", message: "no issue \(groupID) in app \(app.id)") }
        return status
    }

    /// Merges issues into one as a user asks.
    ///
    /// - Parameters:
    ///   - request: The issues to merge into `target`.
    ///   - target: The issue that stays.
    ///   - app: Their app.
    ///   - user: Who asks.
    ///   - now: The time.
    /// - Returns: The ids merged.
    /// - Throws: ``APIError`` 400 for a request without issues or with too many, 404 when the app has no issue
    ///   `target` or none of the others.
    func mergeIssues(
        _ request: IssueMergeRequest,
        into target: Int64,
        app: StoredApp,
        by user: String,
        now: Double
    ) async throws -> [Int64] {
        let sources = Set(request.issues).subtracting([target])
        guard !sources.isEmpty, sources.count <= 100 else {
            throw APIError.badRequest(
                "issues",
                "must list 1 to 100 ids of other issues of this app to merge into issue \(target)"
            )
        }
        guard
            let merged = try await store.mergeErrorGroups(
                appID: app.id,
                into: target,
                from: sources.sorted(),
                by: user,
                at: now
            )
        else { throw APIError(.notFound, code: "not_found", message: "no issue \(target) in app \(app.id)") }
        guard !merged.isEmpty else {
            throw APIError(
                .notFound,
                code: "not_found",
                message:
                    "none of the issues \(sources.sorted().map(String.init).joined(separator: ", ")) is in app \(app.id)"
            )
        }
        return merged
    }
}
