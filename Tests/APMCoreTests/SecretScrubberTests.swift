import APMCore
import Testing

/// What is replaced before an error sample (and its request) is stored, and what is kept.
@Suite struct SecretScrubberTests {
    @Test(arguments: [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "Authorization: Bearer [Filtered]"),
        ("Authorization: abc123", "Authorization: [Filtered]"),
        ("sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc to the API", "sent Bearer [Filtered] to the API"),
        ("login failed: password=hunter2 user=ann", "login failed: password=[Filtered] user=ann"),
        (#"{"api_key": "sk-live-123", "user": "ann"}"#, #"{"api_key": "[Filtered]", "user": "ann"}"#),
        ("key apm_0123456789abcdef0123456789abcdef refused", "key [Filtered] refused"),
        ("token apt_Zm9vYmFyYmF6cXV4cXV1eA was revoked", "token [Filtered] was revoked"),
        ("db_password = s3cr3t", "db_password = [Filtered]"),
        ("timeout after 30 s: GET /checkout", "timeout after 30 s: GET /checkout"),
        ("user session 42 ended", "user session 42 ended"),
    ])
    func textKeepsWhatIsNotASecret(input: String, expected: String) {
        #expect(SecretScrubber.scrubbed(text: input) == expected)
    }

    @Test func queryParametersWithSensitiveNamesAreReplacedOneByOne() {
        #expect(
            SecretScrubber.scrubbed(url: "https://shop.example/pay?amount=5&password=hunter2&access_token=abc#top")
                == "https://shop.example/pay?amount=5&password=[Filtered]&access_token=[Filtered]#top"
        )
        #expect(SecretScrubber.scrubbed(url: "page=2&api-key=abc") == "page=2&api-key=[Filtered]")
        #expect(SecretScrubber.scrubbed(url: "/search?q=shoes") == "/search?q=shoes")
    }

    @Test func headersOutsideTheAllowListAndSensitiveAttributesAreFiltered() {
        let scrubbed = SecretScrubber.scrubbed(attributes: [
            "http.request.header.authorization": "Bearer abc",
            "http.request.header.cookie": "sid=1",
            "http.request.header.x_internal_route": "blue",
            "http.request.header.user-agent": "curl/8.0",
            "http.request.header.accept": "application/json",
            "url.query": "q=1&secret=2",
            "enduser.id": "ann",
            "user.password": "hunter2",
            "note": "retry with password=x",
        ])
        #expect(
            scrubbed == [
                "http.request.header.authorization": "[Filtered]",
                "http.request.header.cookie": "[Filtered]",
                "http.request.header.x_internal_route": "[Filtered]",
                "http.request.header.user-agent": "curl/8.0",
                "http.request.header.accept": "application/json",
                "url.query": "q=1&secret=[Filtered]",
                "enduser.id": "ann",
                "user.password": "[Filtered]",
                "note": "retry with password=[Filtered]",
            ]
        )
    }
}
