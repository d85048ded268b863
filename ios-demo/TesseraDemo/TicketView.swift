import SwiftUI
import Tessera
import UIKit

/// One ticket: the countdown while it is locked, the rotating code once it is ready, or
/// what the holder can do about it. Everything it shows comes from `Wallet.watch`.
struct TicketView: View {
    let wallet: Wallet
    let ticketId: String
    @StateObject private var watch = WatchModel()
    @State private var ticket: TicketSummary?
    @State private var captured = false
    @Environment(\.scenePhase) private var scenePhase

    var body: some View {
        ScrollView {
            VStack(spacing: 16) {
                if let ticket {
                    Text(Presentation.seatLabel(ticket.seat)).font(.headline)
                    if let name = ticket.holderName { Text(name) }
                }
                content
            }
            .padding(24)
        }
        .navigationTitle(ticket?.event.name ?? "Ticket")
        .navigationBarTitleDisplayMode(.inline)
        .task { ticket = try? await Task.detached { [wallet, ticketId] in try wallet.ticket(ticketId: ticketId) }.value }
        .onAppear {
            captured = UIScreen.main.isCaptured
            watch.start(wallet: wallet, ticketId: ticketId)
        }
        .onDisappear { watch.stop() }
        // Screen recording, mirroring, AirPlay: hide the code while the screen is captured.
        .onReceive(NotificationCenter.default.publisher(for: UIScreen.capturedDidChangeNotification)) { _ in
            captured = UIScreen.main.isCaptured
        }
    }

    @ViewBuilder private var content: some View {
        if let error = watch.error {
            Text(error)
        } else if let state = watch.state, let anchor = watch.anchor {
            switch state {
            case .ready:
                // Also hidden when not active: the app switcher takes its snapshot then.
                if captured || scenePhase != .active {
                    Label("The code is hidden while the screen is recorded or shared, and in the app switcher.", systemImage: "eye.slash")
                        .multilineTextAlignment(.center)
                        .frame(maxWidth: .infinity, minHeight: 300)
                } else {
                    ReadyCode(frame: watch.frame, anchor: anchor)
                }
            case .locked(let opensAt):
                LockedCountdown(opensAt: opensAt, anchor: anchor)
            default:
                Text(Presentation.explanation(state))
                Remedies(wallet: wallet, ticketId: ticketId, state: state)
            }
        } else {
            ProgressView()
        }
    }
}

/// The rotating code and the bar counting down to the next one, redrawn every display frame.
private struct ReadyCode: View {
    let frame: Frame?
    let anchor: TimeAnchor

    var body: some View {
        TimelineView(.animation) { _ in
            let now = anchor.now
            if let frame, !Presentation.frameIsStale(endsAtMs: frame.endsAtMs, nowMs: now) {
                VStack(spacing: 12) {
                    QRCode(frame: frame).equatable()
                    ProgressView(value: Presentation.stepFractionLeft(startsAtMs: frame.startsAtMs, endsAtMs: frame.endsAtMs, nowMs: now))
                    Text("New code in \(Presentation.stepSecondsLeft(endsAtMs: frame.endsAtMs, nowMs: now)) s").font(.footnote)
                }
            } else {
                ProgressView("Waiting for the code…")
            }
        }
    }
}

/// A frame's QR code drawn from its module matrix on a Canvas (no image library).
/// Equatable so the 60-per-second timeline above does not redraw an unchanged code.
private struct QRCode: View, Equatable {
    let frame: Frame

    var body: some View {
        let qrSize = Int(frame.qrSize)
        let runs = Presentation.darkRuns(qrSize: qrSize, modules: frame.qrModules)
        let side = CGFloat(Presentation.sideModules(qrSize))
        Canvas { context, size in
            // Whole points per module where there is room, so module edges land on pixel
            // edges (no grey seams for the gate's camera); centred in what is left.
            let exact = min(size.width, size.height) / side
            let unit = exact >= 1 ? exact.rounded(.down) : exact
            let origin = CGPoint(x: ((size.width - unit * side) / 2).rounded(.down),
                                 y: ((size.height - unit * side) / 2).rounded(.down))
            context.fill(Path(CGRect(origin: origin, size: CGSize(width: unit * side, height: unit * side))), with: .color(.white))
            var dark = Path()
            for run in runs {
                dark.addRect(CGRect(x: origin.x + CGFloat(run.x) * unit, y: origin.y + CGFloat(run.y) * unit,
                                    width: CGFloat(run.width) * unit, height: unit))
            }
            context.fill(dark, with: .color(.black))
        }
        .aspectRatio(1, contentMode: .fit)
    }
}

/// Until the window opens; then the watch reports `.ready` and the code replaces this.
private struct LockedCountdown: View {
    let opensAt: Int64
    let anchor: TimeAnchor

    var body: some View {
        VStack(spacing: 8) {
            Text("Opens in").font(.headline)
            // Four times a second is enough for whole seconds. Proven time: what windows open on.
            TimelineView(.periodic(from: .now, by: 0.25)) { _ in
                Text(Presentation.countdownText(ms: Presentation.msUntilOpen(opensAt: opensAt, provenNowMs: anchor.proven)))
                    .font(.system(size: 48, weight: .semibold, design: .rounded).monospacedDigit())
            }
            Text(Presentation.opensAtText(opensAt)).foregroundStyle(.secondary)
            Text(Presentation.explanation(.locked(opensAt: opensAt))).font(.footnote)
        }
    }
}

/// What the holder can do about a state: confirm presence or phone, sync.
private struct Remedies: View {
    let wallet: Wallet
    let ticketId: String
    let state: RevealState
    @StateObject private var actions = ActionRunner()
    @State private var phone = ""
    @State private var code = ""

    var body: some View {
        VStack(spacing: 12) {
            if case .needsVerification(let missing) = state {
                if missing.contains(.presence) {
                    Button("Confirm it's you") {
                        actions.run {
                            // Off the main thread: the library blocks this call until the prompt is answered.
                            try await Task.detached { [wallet, ticketId] in try wallet.confirmPresence(ticketId: ticketId) }.value
                            return nil
                        }
                    }
                    .buttonStyle(.borderedProminent)
                }
                if missing.contains(.phone) { phoneForm }
            }
            if state == .needsSync || state == .tampered {
                Button("Sync now") { actions.run { _ = try await wallet.sync(); return nil } }
                    .buttonStyle(.borderedProminent)
            }
            if actions.busy { ProgressView() }
            if let message = actions.message { Text(message).foregroundStyle(.red).font(.footnote) }
        }
        .disabled(actions.busy)
    }

    /// The SMS code, for events that require a verified phone; the watch wakes when it counts.
    @ViewBuilder private var phoneForm: some View {
        TextField("Phone of the order (+33…)", text: $phone)
            .keyboardType(.phonePad)
            .textFieldStyle(.roundedBorder)
        Button("Send code") {
            let number = phone.trimmingCharacters(in: .whitespaces)
            actions.run { _ = try await wallet.requestPhone(phone: number); return "Code sent by SMS." }
        }
        TextField("6-digit code", text: $code)
            .keyboardType(.numberPad)
            .textContentType(.oneTimeCode)
            .textFieldStyle(.roundedBorder)
        Button("Confirm code") {
            let entered = code
            actions.run { _ = try await wallet.confirmPhone(code: entered); return nil }
        }
        .disabled(code.count != 6)
    }
}
