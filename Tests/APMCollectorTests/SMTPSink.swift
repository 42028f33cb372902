import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real SMTP server on 127.0.0.1 (a port the kernel picks) that accepts every message and keeps it: enough of
/// RFC 5321 for libcurl's client. It does not offer STARTTLS, so a client that requires it must refuse to send.
final class SMTPSink: Sendable {
    struct Message: Sendable {
        var from: String
        var recipients: [String]
        var data: String
    }

    let port: Int
    private let listener: Int32
    private let received = Mutex<[Message]>([])

    var messages: [Message] { received.withLock { $0 } }

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in serve() }
    }

    /// Stops accepting (the serving thread ends with the next failed accept).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        func reply(_ text: String) { _ = text.withCString { send(connection, $0, strlen($0), 0) } }
        var pending = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        var inData = false
        var message = Message(from: "", recipients: [], data: "")
        reply("220 sink ESMTP\r\n")
        while true {
            while let end = pending.range(of: "\r\n") {
                let line = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                if inData {
                    if line == "." {
                        inData = false
                        received.withLock { $0.append(message) }
                        message = Message(from: "", recipients: [], data: "")
                        reply("250 queued\r\n")
                    } else {
                        message.data += (line.hasPrefix("..") ? String(line.dropFirst()) : line) + "\n"
                    }
                    continue
                }
                let command = line.uppercased()
                if command.hasPrefix("EHLO") {
                    reply("250-sink\r\n250 8BITMIME\r\n")
                } else if command.hasPrefix("HELO") || command.hasPrefix("RSET") || command.hasPrefix("NOOP") {
                    reply("250 ok\r\n")
                } else if command.hasPrefix("MAIL FROM:") {
                    message.from = String(line.dropFirst(10))
                    reply("250 ok\r\n")
                } else if command.hasPrefix("RCPT TO:") {
                    message.recipients.append(String(line.dropFirst(8)))
                    reply("250 ok\r\n")
                } else if command == "DATA" {
                    inData = true
                    reply("354 go ahead\r\n")
                } else if command == "QUIT" {
                    reply("221 bye\r\n")
                    return
                } else {
                    reply("502 not implemented\r\n")
                }
            }
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            pending += String(decoding: buffer[..<count], as: UTF8.self)
        }
    }
}
