import APMCore
import APMTesting
import Foundation
import Testing

@testable import APMAgent

/// Readable Swift stacks: an error made three calls deep shows those functions with file and line, marked as the
/// app's own code, the agent's own frames left out; symbolicated at harvest, not when noticed.
@Suite struct StackSymbolicationTests {
    struct Declined: Error, StackCarryingError {
        let stack = ErrorStack()
    }

    @inline(never) static func placeOrder() throws { try chargeCard() }
    @inline(never) static func chargeCard() throws { try authorize() }
    @inline(never) static func authorize() throws { throw Declined() }

    /// The symbol tables parsed before the agent's deadline counts (seconds in a debug build of this test binary).
    static func warm() async {
        StackSymbolicator.shared.warmUp()
        _ = await StackSymbolicator.shared.waitUntilWarm(within: .seconds(120))
    }

    @Test func anErrorMadeThreeCallsDeepShowsThoseFunctionsWithFileAndLine() async throws {
        await Self.warm()
        // A long stop deadline: on a busy machine the agent's loop may start late, and the test waits for its flush.
        let (agent, clock, collector) = KnownWorkloadTests.startedAgent { $0.shutdownTimeout = .seconds(60) }
        let transaction = agent.startWebTransaction(method: "POST", route: "/checkout")
        do { try Self.placeOrder() } catch { transaction.noticeError(error) }
        clock.advance(seconds: 0.1)
        transaction.end()
        await agent.shutdown()

        let sample = try #require(
            collector.acceptedBatches.flatMap(\.errors).first,
            "\(agent.statistics) \(collector.acceptedBatches.count) batches"
        )
        #expect(sample.type == "Declined")
        let frames = try #require(sample.frames)
        let inApp = frames.filter(\.inApp)
        let names = inApp.prefix(3).map(\.function)
        #expect(names.count == 3 && names[0].contains("authorize"), "\(frames)")
        #expect(names.count == 3 && names[1].contains("chargeCard") && names[2].contains("placeOrder"), "\(frames)")
        for frame in inApp.prefix(3) {
            #expect(frame.file.hasSuffix("StackSymbolicationTests.swift") && frame.line > 0, "\(frame)")
        }
        // The agent's own frames (the capture) are not shown; the text stack says the same as the frames.
        #expect(!frames.contains { $0.file.contains("/Sources/APMAgent/") })
        #expect(sample.stack.first == frames.first?.text)
    }

    /// Without a stack of its own, an error shows where it was noticed.
    @Test func anErrorWithoutItsStackShowsWhereItWasNoticed() async throws {
        struct Plain: Error {}
        await Self.warm()
        // A long stop deadline: on a busy machine the agent's loop may start late, and the test waits for its flush.
        let (agent, clock, collector) = KnownWorkloadTests.startedAgent { $0.shutdownTimeout = .seconds(60) }
        let transaction = agent.startWebTransaction(method: "GET", route: "/x")
        transaction.noticeError(Plain())
        clock.advance(seconds: 0.1)
        transaction.end()
        await agent.shutdown()
        let frames = try #require(collector.acceptedBatches.flatMap(\.errors).first?.frames)
        #expect(
            frames.first { $0.inApp }?.function.contains("anErrorWithoutItsStackShowsWhereItWasNoticed") == true,
            "\(frames)"
        )
    }

    @Test func appFramesAreTheAppsOwnFiles() {
        #expect(StackSymbolicator.isInApp(file: "/srv/shop/Sources/Shop/Orders.swift"))
        #expect(!StackSymbolicator.isInApp(file: "/srv/shop/.build/checkouts/swift-nio/Sources/NIOCore/Channel.swift"))
        #expect(!StackSymbolicator.isInApp(file: "/home/build-user/swift/stdlib/public/core/Array.swift"))
        #expect(!StackSymbolicator.isInApp(file: ""))
    }

    /// Before the symbol tables are ready, a sample goes out with its return addresses, never held up.
    @Test func withoutSymbolTablesASampleCarriesItsAddresses() {
        let symbolicator = StackSymbolicator()
        let stack = StackCapture.current()
        let text = symbolicator.text(of: stack, frames: [])
        #expect(!text.isEmpty && text.allSatisfy { $0.hasPrefix("0x") }, "\(text)")
    }
}
