import Logging
import NIOCore
import NIOHTTPTypes

/// Closes connections that hold the collector's resources without using them: one that sends no complete request
/// head in time (idle after a response, or trickling its headers a byte at a time), or whose body does not arrive
/// in full within the body timeout of its head. The time the collector itself takes to answer is never limited.
///
/// One per connection, after the HTTP codec, so it sees request heads, body parts and ends, and response parts.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The timeouts.
    struct Timeouts: Sendable {
        /// A new connection's first request head must arrive within this.
        var header: TimeAmount
        /// After a response, the next request head must arrive within this (keep-alive idle).
        var idle: TimeAmount
        /// A request's body must arrive in full within this of its head.
        var body: TimeAmount
    }

    private enum State {
        /// Waiting for a request head, until the deadline.
        case awaitingHead(NIODeadline)
        /// Reading a request's body, until the deadline.
        case readingBody(NIODeadline)
        /// The request was read; the collector is answering. No deadline.
        case answering
    }

    private let timeouts: Timeouts
    private let logger: Logger
    private var state: State
    private var timer: Scheduled<Void>?
    /// Whether the response to the request being read was already written (an early 4xx before its body).
    private var answeredEarly = false

    init(timeouts: Timeouts, logger: Logger) {
        self.timeouts = timeouts
        self.logger = logger
        self.state = .awaitingHead(.now() + timeouts.header)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            state = .readingBody(.now() + timeouts.body)
            answeredEarly = false
            arm(context)
        case .end:
            if answeredEarly {
                answeredEarly = false
                state = .awaitingHead(.now() + timeouts.idle)
                arm(context)
            } else {
                state = .answering
                timer?.cancel()
                timer = nil
            }
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            switch state {
            case .answering:
                state = .awaitingHead(.now() + timeouts.idle)
                arm(context)
            case .readingBody:
                // Answered before the body was read in full: the body deadline still holds, then idle.
                answeredEarly = true
            case .awaitingHead:
                break
            }
        }
        context.write(data, promise: promise)
    }

    /// Schedules a check at the current state's deadline.
    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let deadline: NIODeadline
        switch state {
        case .awaitingHead(let at), .readingBody(let at): deadline = at
        case .answering: return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.expire(context)
        }
    }

    private func expire(_ context: ChannelHandlerContext) {
        timer = nil
        let reason: String
        switch state {
        case .awaitingHead(let deadline) where deadline <= .now(): reason = "no complete request head in time"
        case .readingBody(let deadline) where deadline <= .now(): reason = "the request body did not arrive in time"
        default:
            arm(context)
            return
        }
        logger.debug("closing a connection: \(reason)")
        context.close(promise: nil)
    }
}
