import APMCore
import Testing

@Suite struct SpanConventionsTests {
    @Test func webTransactionsAreNamedByRouteNeverByRawPath() {
        #expect(
            SpanConventions(["http.request.method": "GET", "http.route": "/users/{id}"])
                .webTransactionName(spanName: "GET /users/7") == "GET /users/{id}"
        )
        #expect(
            SpanConventions(["http.method": "POST", "url.path": "/users/7"]).webTransactionName(spanName: "/users/7")
                == "POST (unrouted)"
        )
        // Before: Flask's and Hummingbird's names for an unknown URL became one transaction per scanned path.
        let scanned = ["/wp-login.php", "/.env", "/admin/config.bak"].map { path in
            SpanConventions(["http.request.method": "GET", "url.path": path]).webTransactionName(
                spanName: "GET \(path)"
            )
        }
        #expect(Set(scanned) == ["GET (unrouted)"])
        #expect(
            SpanConventions(["http.request.method": "GET", "url.path": "/x"])
                .webTransactionName(spanName: "HTTP GET route not found") == "GET (unrouted)"
        )
        #expect(SpanConventions([:]).webTransactionName(spanName: "checkout") == "checkout")
        #expect(SpanConventions(["url.path": "/a/b"]).webTransactionName(spanName: "/a/b") == "(unrouted)")
        #expect(SpanConventions([:]).webTransactionName(spanName: "") == "(unrouted)")
        // The current convention's name wins over the older one, in either order.
        var conventions = SpanConventions()
        conventions.read("http.method", string: { "GET" }, integer: { nil })
        conventions.read("http.request.method", string: { "PUT" }, integer: { nil })
        conventions.read("http.method", string: { "HEAD" }, integer: { nil })
        #expect(conventions.httpMethod == "PUT")
    }

    @Test func segmentsAreDatastoreExternalOrCustom() {
        let query = SpanConventions(["db.system": "postgresql", "db.statement": "SELECT * FROM users WHERE id = 1"])
            .segment(spanName: "query", isClient: true)
        #expect(query.category == .datastore && query.operation == "SELECT" && query.target == "users")
        #expect(query.statement == "SELECT * FROM users WHERE id = 1")  // raw: callers obfuscate
        let call = SpanConventions(["http.request.method": "GET", "url.full": "https://user@[::1]:8443/x?q=1"])
            .segment(spanName: "GET", isClient: true)
        #expect(call.category == .external && call.system == "GET" && call.operation == "::1")
        // An HTTP method on a span that is not a client's is not an external call.
        #expect(
            SpanConventions(["http.method": "GET"]).segment(spanName: "render", isClient: false).category == .custom
        )
        #expect(SpanConventions.host(of: "http://api.example.com:8080/v1") == "api.example.com")
        #expect(SpanConventions.host(of: "no scheme") == nil)
    }
}
