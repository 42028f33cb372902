import APMStorage
import Foundation
import HTTPTypes
import Hummingbird

/// The one place credentials are read: a license key or API token from the headers (`X-APM-License-Key`, or
/// `Authorization: Bearer`), a dashboard session from its cookie. It records who is calling in the context;
/// each handler then requires what it needs (``CollectorRequestContext/require(_:)``).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = CollectorRequestContext

    let authenticator: CredentialAuthenticator
    let sessions: DashboardSessions

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var context = context
        if let presented = request.headers[HTTPField.Name("X-APM-License-Key")!] ?? Self.bearer(request),
            !presented.isEmpty
        {
            do {
                context.identity = try await authenticator.identity(for: presented)
            } catch let error as APIError {
                context.authenticationFailure = error
            }
        }
        if let token = request.cookies[DashboardSessions.cookie]?.value {
            context.session = try await sessions.session(for: token)
        }
        return try await next(request, context)
    }

    static func bearer(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.lowercased().hasPrefix("bearer ") else { return nil }
        return String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }
}
