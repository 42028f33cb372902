import APMCore
import Testing

@Suite struct TransactionNameNormalizerTests {
    @Test(arguments: [
        ("GET /users/123", "GET /users/{id}"),
        ("/orders/42/items/7", "/orders/{id}/items/{id}"),
        ("/u/123e4567-e89b-12d3-a456-426614174000/profile", "/u/{uuid}/profile"),
        ("/blobs/9f86d081884c7d659a2feaa0c55ad015", "/blobs/{hex}"),
        ("/users/:id", "/users/:id"),
        ("/users/{id}", "/users/{id}"),
        ("/v2/items", "/v2/items"),
        ("/search?q=1", "/search"),
        ("/deadbeefdeadbeef", "/deadbeefdeadbeef"),
        ("/page#section-2", "/page"),
    ])
    func normalizes(_ input: String, _ expected: String) {
        #expect(TransactionNameNormalizer.normalize(input) == expected)
    }
}
