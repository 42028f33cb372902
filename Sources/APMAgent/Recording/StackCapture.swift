import Foundation

/// Stack frames for error samples, where the platform provides them. Only called on the error path.
enum StackCapture {
    static let maxFrames = 32

    static func current() -> [String] {
        // Drop the agent's own frames (capture, noticeError).
        Array(Thread.callStackSymbols.dropFirst(3).prefix(maxFrames))
    }
}
