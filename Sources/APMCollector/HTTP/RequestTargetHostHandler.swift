import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// RFC 9112 §3.2.2: a request in absolute form (`POST http://host/path`) is for the host of its target, whatever
/// its `Host` field says; the conversion to HTTP types keeps only the path and the first `Host`. This handler, on
/// the raw HTTP/1 side of the codec, puts the target's authority into `Host` (as the only one), so that the one
/// Host check (``SecurityMiddleware``) judges the host the request is really for.
final class RequestTargetHostHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), let authority = Self.absoluteFormAuthority(head.uri)
        else {
            context.fireChannelRead(data)
            return
        }
        head.headers.remove(name: "Host")
        head.headers.add(name: "Host", value: authority)
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// The authority of an absolute-form target (`http://a.example:80/x` → `a.example:80`), or `nil` for the
    /// usual origin form (`/x`). An empty authority stays empty: the Host check refuses it.
    static func absoluteFormAuthority(_ target: String) -> String? {
        let lower = target.lowercased()
        guard let schemeEnd = lower.range(of: "://"), !lower.hasPrefix("/") else { return nil }
        let rest = target[schemeEnd.upperBound...]
        return String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
    }
}

/// Added with the collector's channel handlers (after the HTTP types codec), it places a
/// ``RequestTargetHostHandler`` before the codec and removes itself.
final class RequestTargetHostInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) {
            try? pipeline.addHandler(RequestTargetHostHandler(), position: .before(codec))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
