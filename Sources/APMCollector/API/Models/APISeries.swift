import APMCore
public import APMStorage

/// A deployment marker.
public struct APIDeployment: Codable, Sendable, Hashable {
    /// Id.
    public var id: Int64
    /// When (Unix seconds).
    public var at: Double
    /// Revision.
    public var revision: String
    /// Description.
    public var description: String
    /// Who.
    public var user: String

    /// Creates a marker.
    ///
    /// - Parameter deployment: The stored deployment.
    public init(_ deployment: Deployment) {
        self.id = deployment.id
        self.at = deployment.at
        self.revision = deployment.revision
        self.description = deployment.description
        self.user = deployment.user
    }
}

/// A time series.
public struct APISeries: Codable, Sendable, Hashable {
    /// Range start (Unix seconds, aligned to the bucket size).
    public var from: Int64
    /// Range end (exclusive).
    public var to: Int64
    /// Bucket length in seconds.
    public var bucketSeconds: Int64
    /// `minute` or `hour`: the stored rows the buckets were built from.
    public var resolution: String
    /// The transaction, or `nil` for the whole app.
    public var transaction: String?
    /// One entry per bucket, empty buckets included.
    public var points: [APIFigures]
    /// Deployments in the range.
    public var deployments: [APIDeployment]
    /// Alert incidents open at some time in the range: the app's, or for a transaction its own and the app's.
    public var incidents: [APIAlertIncident]

    enum CodingKeys: String, CodingKey {
        case from, to
        case bucketSeconds = "bucket_seconds"
        case resolution, transaction, points, deployments, incidents
    }
}
