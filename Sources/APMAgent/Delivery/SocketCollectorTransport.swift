import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The transport for `http://` collectors: one HTTP/1.1 exchange per request over a plain socket, on a thread
/// of its own that waits in `poll(2)`, so a collector that is slow, hung or blackholed costs the app nothing while
/// the agent waits. (Foundation's `URLSession` on Linux, libcurl, kept about 90 % of a core busy in its
/// dispatch threads for as long as a request was pending.) `https://` collectors go through
/// ``URLSessionCollectorTransport``, which has TLS and proxies: see ``DefaultCollectorTransport``.
package final class SocketCollectorTransport: CollectorTransport {
    /// Creates the transport.
    package init() {}

    /// The largest response read (the collector's replies are a few hundred bytes).
    static let maxResponseBytes = 1 << 20

    /// Sends one request and waits for the whole response, within the request's timeout.
    ///
    /// - Parameter request: The request; its URL must be `http://`.
    /// - Returns: The response.
    /// - Throws: `URLError` when the host cannot be reached, the exchange times out or the reply is malformed.
    package func send(_ request: CollectorRequest) async throws -> CollectorResponse {
        guard request.url.scheme?.lowercased() == "http", let host = request.url.host else {
            throw URLError(.unsupportedURL)
        }
        let port = request.url.port ?? 80
        let deadline = Date().addingTimeInterval(Self.seconds(request.timeout))
        return try await withCheckedThrowingContinuation { continuation in
            // A thread of its own: getaddrinfo, connect and the waits block, and must not hold the app's threads.
            // Every wait is bounded by the deadline, so the thread ends with the request.
            let thread = Thread {
                continuation.resume(
                    with: Result { try Self.exchange(request, host: host, port: port, deadline: deadline) }
                )
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Connects, writes the request and reads the response, each wait bounded by the deadline.
    static func exchange(
        _ request: CollectorRequest,
        host: String,
        port: Int,
        deadline: Date
    ) throws
        -> CollectorResponse
    {
        let socket = try connect(host: host, port: port, deadline: deadline)
        defer { close(socket) }
        var path = request.url.path.isEmpty ? "/" : request.url.path
        if let query = request.url.query { path += "?" + query }
        // The method is the agent's own constant (POST or GET).
        var head =
            "\(request.method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(request.body.count)\r\n"
        head += "Connection: close\r\n"
        for (name, value) in request.headers
        where !["host", "content-length", "connection"].contains(name.lowercased()) {
            // Header values come from the agent's own configuration; line breaks would split the request.
            guard !name.contains(where: \.isNewline), !value.contains(where: \.isNewline) else { continue }
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        try write(Data(head.utf8) + request.body, to: socket, deadline: deadline)
        let raw = try readAll(socket, deadline: deadline)
        return try parse(raw)
    }

    static func connect(host: String, port: Int, deadline: Date) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw URLError(.cannotFindHost)
        }
        defer { freeaddrinfo(list) }
        var lastError = URLError(.cannotConnectToHost)
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard descriptor >= 0 else { continue }
            var on: Int32 = 1
            #if canImport(Darwin)
            setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
            #endif
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            let result = systemConnect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen)
            if result == 0 { return descriptor }
            if errno == EINPROGRESS {
                do {
                    try wait(descriptor, events: Int16(POLLOUT), deadline: deadline)
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return descriptor }
                } catch let error as URLError {
                    lastError = error
                } catch {}
            }
            close(descriptor)
        }
        throw lastError
    }

    /// Waits until the socket is ready for `events`, or throws `timedOut` at the deadline.
    static func wait(_ descriptor: Int32, events: Int16, deadline: Date) throws {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw URLError(.timedOut) }
            var poller = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw URLError(.networkConnectionLost) }
        }
    }

    static func write(_ data: Data, to descriptor: Int32, deadline: Date) throws {
        var offset = 0
        while offset < data.count {
            try wait(descriptor, events: Int16(POLLOUT), deadline: deadline)
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let sent = data.withUnsafeBytes { bytes in
                systemSend(descriptor, bytes.baseAddress! + offset, data.count - offset, flags)
            }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno != EAGAIN && errno != EINTR {
                throw URLError(.networkConnectionLost)
            }
        }
    }

    /// Reads until the peer closes (the request said `Connection: close`) or the body announced is complete.
    static func readAll(_ descriptor: Int32, deadline: Date) throws -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            try wait(descriptor, events: Int16(POLLIN), deadline: deadline)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return received }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw URLError(.networkConnectionLost)
            }
            received += buffer[0..<count]
            guard received.count <= maxResponseBytes else { throw URLError(.dataLengthExceedsMaximum) }
            if (try? parse(received, requireComplete: true)) != nil { return received }
        }
    }

    /// Parses an HTTP/1.1 response: status line, headers, and a body by `Content-Length`, chunked, or to the end.
    static func parse(_ bytes: [UInt8], requireComplete: Bool = false) throws -> CollectorResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = bytes.firstRange(of: separator) else { throw URLError(.badServerResponse) }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw URLError(.badServerResponse)
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        var body = Array(bytes[headEnd.upperBound...])
        if let length = headers["content-length"].flatMap({ Int($0) }) {
            if body.count < length {
                if requireComplete { throw URLError(.badServerResponse) }
                throw URLError(.networkConnectionLost)
            }
            body = Array(body.prefix(length))
        } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try dechunk(body)
        } else if requireComplete {
            // Neither: the body ends when the connection closes.
            throw URLError(.badServerResponse)
        }
        return CollectorResponse(status: status, headers: headers, body: Data(body))
    }

    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var body: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = bytes[index...].firstRange(of: [13, 10]) else { throw URLError(.badServerResponse) }
            let sizeText =
                String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
                .split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw URLError(.badServerResponse)
            }
            index = lineEnd.upperBound
            if size == 0 { return body }
            guard bytes.count >= index + size + 2 else { throw URLError(.badServerResponse) }
            body += bytes[index..<index + size]
            index += size + 2
        }
    }
}

/// `connect(2)` and `send(2)`, whose names the transport's own methods shadow.
private func systemConnect(_ descriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.connect(descriptor, address, length)
    #else
    Darwin.connect(descriptor, address, length)
    #endif
}

private func systemSend(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
    #if canImport(Glibc)
    Glibc.send(descriptor, bytes, count, flags)
    #else
    Darwin.send(descriptor, bytes, count, flags)
    #endif
}
