import Foundation
import Tessera

/// A ticket's `Wallet.watch`, published for SwiftUI on the main actor.
///
/// The library calls the listener on one of its own threads, at most once per step; the
/// listener only hands the value to the main queue and returns (API.md: return quickly).
/// The main queue is serial, so states and frames arrive in the order they were sent.
@MainActor
final class WatchModel: ObservableObject {
    /// Nil until the watch reports its first state.
    @Published private(set) var state: RevealState?
    /// The code to show now; nil while the ticket is not ready.
    @Published private(set) var frame: Frame?
    @Published private(set) var error: String?
    /// One reading of the wallet's time per event (see TimeAnchor).
    @Published private(set) var anchor: TimeAnchor?

    private var wallet: Wallet?
    private var handle: WatchHandle?

    /// Starts watching (TicketView's onAppear).
    func start(wallet: Wallet, ticketId: String) {
        guard handle == nil else { return }
        self.wallet = wallet
        do {
            handle = try wallet.watch(ticketId: ticketId, listener: Listener(model: self))
        } catch {
            self.error = describe(error)
        }
    }

    /// Stops the watch (TicketView's onDisappear): no callback starts after `stop()`
    /// returns, and dropping the handle frees it.
    func stop() {
        handle?.stop()
        handle = nil
    }

    fileprivate func received(state: RevealState) {
        // A code must not outlive its state (window closed, revoked, moved to another phone).
        if case .ready = state {} else { frame = nil }
        self.state = state
        reanchor()
    }

    fileprivate func received(frame: Frame) {
        self.frame = frame
        reanchor()
    }

    private func reanchor() {
        if let wallet { anchor = TimeAnchor(wallet.timeStatus()) }
    }
}

/// The FrameListener the library calls. Holds the model weakly: a late callback after the
/// screen is gone is simply dropped.
private final class Listener: FrameListener, @unchecked Sendable {
    private weak var model: WatchModel?

    init(model: WatchModel) {
        self.model = model
    }

    // Closures given to DispatchQueue.main.async run on the main actor (Swift treats them so).
    func onFrame(frame: Frame) {
        guard let model else { return }
        DispatchQueue.main.async { [weak model] in model?.received(frame: frame) }
    }

    func onState(state: RevealState) {
        guard let model else { return }
        DispatchQueue.main.async { [weak model] in model?.received(state: state) }
    }
}
