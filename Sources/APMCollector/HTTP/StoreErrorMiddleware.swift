import APMStorage
import HTTPTypes
import Hummingbird
import Logging

/// Answers store failures the client or the operator can act on with a clear status and message instead of an
/// empty 500: a full disk is 507, a refusal of the store is 503. Other errors pass through.
struct StoreErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The store's reading of an error (``MaintenanceStore/storeError(for:)``).
    let recognize: @Sendable (any Error) -> StoreError?
    let onFailure: @Sendable (String) -> Void

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            guard let storeError = recognize(error) else { throw error }
            onFailure(storeError.message)
            if storeError.code == .diskFull {
                var answer = APIError(
                    HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"),
                    code: "disk_full",
                    message: storeError.message + "; retry later"
                )
                answer.headers[.retryAfter] = "60"
                throw answer
            }
            throw APIError.unavailable("store_unavailable", retryAfter: 30, storeError.message)
        }
    }
}
