// `Wallet.watch` as an AsyncStream: `for await update in wallet.updates(ticketId:)`.
// Written with care but not compiled here (no Swift toolchain on our machines): see
// bindings/swift/README.md.

import Foundation

/// What `Wallet.updates(ticketId:)` yields: the ticket's state changed, or the code to show.
public enum TicketUpdate: Sendable {
    /// The ticket's state, when the watch starts and at every change.
    case state(RevealState)
    /// The frame to show, at every step boundary while the ticket is ready.
    case code(Frame)
}

/// Hands the library's callbacks (on its own thread) to the stream; never blocks.
private final class StreamListener: FrameListener, @unchecked Sendable {
    private let continuation: AsyncStream<TicketUpdate>.Continuation

    init(_ continuation: AsyncStream<TicketUpdate>.Continuation) {
        self.continuation = continuation
    }

    func onFrame(frame: Frame) throws {
        continuation.yield(.code(frame))
    }

    func onState(state: RevealState) throws {
        continuation.yield(.state(state))
    }
}

extension Wallet {
    /// Watches a ticket as an `AsyncStream`: its state first, then each change and, while
    /// it is ready, one frame per step. Ending the iteration (leaving the `for await`
    /// loop, cancelling its task) stops the watch in the library. Updates are buffered
    /// without limit (a couple per step) and never dropped. Throws `WalletError` for a
    /// bad ticket id, before any update.
    public func updates(ticketId: String) throws -> AsyncStream<TicketUpdate> {
        var continuation: AsyncStream<TicketUpdate>.Continuation!
        let stream = AsyncStream<TicketUpdate>(bufferingPolicy: .unbounded) { continuation = $0 }
        let handle = try watch(ticketId: ticketId, listener: StreamListener(continuation))
        continuation.onTermination = { _ in handle.stop() }
        return stream
    }
}
