package import APMCore

/// Rules of ingest that do not depend on the backend: the overflow name, the app limit, what an agent's identity
/// changes on its app.
package enum IngestRules {
    /// The name that stands for every name past a cap.
    package static let overflowName = OverflowName.text
    /// Examples of names past the cap kept per app.
    package static let overflowExamplesPerApp = 20
    /// Occurrences of an issue kept whole (its latest), for the issue page.
    package static let samplesPerIssue = 10
    /// The attributes that name the user an error happened to (the first one present counts).
    package static let userAttributes = ["enduser.id", "user.id", "usr.id"]
    /// What an issue's counts by one facet hold at most: past it, new values count as `(other)`.
    package static func facetValuesPerIssue(_ kind: ErrorFacetKind) -> Int {
        switch kind {
        case .transaction, .host: 100
        case .user: 1_000
        }
    }

    /// The refusal of a batch that would create one app more than `max_apps`.
    package static func appLimit(maxApps: Int, appName: String) -> StoreError {
        StoreError(
            .appLimit,
            "the account has \(maxApps) apps, the limit (max_apps in collector.ini); app \"\(appName.prefix(100))\" was not created. Reuse an app name, or raise max_apps"
        )
    }

    /// The language and agent version an app gets from a batch, or `nil` when they stay. Process reports from
    /// `apm run-program` name no language or agent version: the app keeps the agent's.
    package static func identityUpdate(
        language: String,
        agentVersion: String,
        from agent: AgentIdentity
    ) -> (language: String, agentVersion: String)? {
        let newLanguage = agent.language.isEmpty ? language : agent.language
        let newVersion = agent.agentVersion.isEmpty ? agentVersion : agent.agentVersion
        guard newLanguage != language || newVersion != agentVersion else { return nil }
        return (newLanguage, newVersion)
    }
}
