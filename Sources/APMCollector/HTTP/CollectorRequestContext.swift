import APMStorage
import Foundation
import HTTPTypes
public import Hummingbird
public import NIOCore

/// The collector's request context: the client's address (for sign-in throttling) and the identity the
/// authentication middleware found, which handlers require with ``require(_:)``.
public struct CollectorRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's core context.
    public var coreContext: CoreRequestContextStorage
    /// The connected client's address.
    public let remoteAddress: SocketAddress?
    /// The identity of the credential in the request's headers (license key or API token).
    var identity: Identity?
    /// The dashboard session of the request's cookie. The API and ingest never accept it: they take credentials
    /// from headers only, which a page of another site cannot make a browser send.
    var session: StoredSession?
    /// Why a presented credential was not accepted (unknown, revoked), answered by ``require(_:)``.
    var authenticationFailure: APIError?

    /// Creates a context for a request on a channel.
    ///
    /// - Parameter source: The channel and logger.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The caller's identity, if it may do `permission`.
    ///
    /// - Parameter permission: What the request needs.
    /// - Returns: The identity.
    /// - Throws: 401 without a valid credential, 403 with one that may not.
    func require(_ permission: Identity.Permission) throws -> Identity {
        guard let identity else {
            if let authenticationFailure { throw authenticationFailure }
            switch permission {
            case .ingest, .recordDeployment:
                throw APIError(
                    .unauthorized,
                    code: "missing_key",
                    message: "send the license key in the X-APM-License-Key header (or Authorization: Bearer <key>)"
                )
            case .read, .admin:
                throw APIError(
                    .unauthorized,
                    code: "missing_token",
                    message:
                        "send an API token: Authorization: Bearer apt_… (create one on the dashboard's settings page or with `apm tokens create`)"
                )
            }
        }
        guard identity.allows(permission) else { throw identity.refusal(permission) }
        return identity
    }

    /// The client's address as text, for throttling: the connection's peer, or, when that is a trusted reverse
    /// proxy, the last address in `X-Forwarded-For` that is not one.
    func clientAddress(_ request: Request, trustedProxies: [String]) -> String {
        let peer = remoteAddress?.ipAddress ?? "unknown"
        guard trustedProxies.contains(peer), let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!] else {
            return peer
        }
        let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return hops.last { !trustedProxies.contains($0) && !$0.isEmpty }.map { String($0.prefix(64)) } ?? peer
    }
}
