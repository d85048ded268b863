import SwiftUI
import Tessera

/// The wallet's tickets. With none yet, the setup: enroll this phone, get the email link,
/// confirm it, sync.
struct TicketListView: View {
    let wallet: Wallet
    @EnvironmentObject private var app: AppModel
    @StateObject private var actions = ActionRunner()
    @State private var tickets: [TicketSummary]?
    @State private var email = ""
    @State private var link = ""

    var body: some View {
        NavigationStack {
            Group {
                if let tickets, !tickets.isEmpty {
                    List(tickets, id: \.ticketId) { ticket in
                        NavigationLink(value: ticket.ticketId) { TicketRow(ticket: ticket) }
                    }
                } else if tickets != nil {
                    setup
                } else {
                    ProgressView()
                }
            }
            .navigationTitle("Tickets")
            .navigationDestination(for: String.self) { TicketView(wallet: wallet, ticketId: $0) }
            .toolbar {
                Button("Sync") {
                    actions.run {
                        // Idempotent; also re-anchors trusted time (after a reboot, say).
                        _ = try await wallet.enroll(platform: Config.platform)
                        let report = try await wallet.sync()
                        await reload()
                        return "Synced: \(report.tickets) ticket(s)."
                    }
                }
                .disabled(actions.busy)
            }
            .safeAreaInset(edge: .bottom) {
                if let message = actions.message {
                    Text(message).font(.footnote).padding().frame(maxWidth: .infinity).background(.bar)
                }
            }
        }
        // tickets() is offline and cheap: re-read it now and then so the chips follow
        // reveal windows opening and closing. The task ends with the view.
        .task {
            while !Task.isCancelled {
                await reload()
                try? await Task.sleep(nanoseconds: 30_000_000_000)
            }
        }
        .onAppear(perform: takeLink)
        .onChange(of: app.pendingLink) { _ in takeLink() }
    }

    private var setup: some View {
        Form {
            Section {
                Text("Enter the email address of your order. The issuer emails a link: open it on this phone, or paste it here.")
                TextField("Email", text: $email)
                    .keyboardType(.emailAddress)
                    .textContentType(.emailAddress)
                    .textInputAutocapitalization(.never)
                    .autocorrectionDisabled()
                Button("Send link") {
                    let address = email.trimmingCharacters(in: .whitespaces)
                    actions.run {
                        _ = try await wallet.enroll(platform: Config.platform) // once per phone, first
                        _ = try await wallet.requestEmail(email: address)
                        return "Link sent. Open it on this phone, or paste it below."
                    }
                }
                .disabled(actions.busy || email.trimmingCharacters(in: .whitespaces).isEmpty)
            } header: {
                Text("No tickets yet")
            }
            Section {
                TextField("Link or token", text: $link)
                    .textInputAutocapitalization(.never)
                    .autocorrectionDisabled()
                Button("Confirm") {
                    let text = link
                    actions.run { try await confirmEmailAndSync(text) }
                }
                .disabled(actions.busy || Presentation.verifyEmailToken(link) == nil)
            }
        }
    }

    // Main actor: these set @State and @Published values.
    @MainActor private func reload() async {
        do {
            tickets = try await Task.detached { try wallet.tickets() }.value
        } catch {
            actions.message = describe(error)
        }
    }

    /// A link opened on the phone (onOpenURL) is confirmed here.
    @MainActor private func takeLink() {
        guard let pending = app.pendingLink else { return }
        app.pendingLink = nil
        actions.run { try await confirmEmailAndSync(pending) }
    }

    /// Confirms a verify-email link from this phone, then syncs: the tickets bind here.
    @MainActor private func confirmEmailAndSync(_ text: String) async throws -> String {
        guard let token = Presentation.verifyEmailToken(text) else { return "Not a verification link: \(text)" }
        _ = try await wallet.confirmEmail(token: token)
        let report = try await wallet.sync()
        await reload()
        return report.tickets == 0 ? "Email confirmed, but no tickets for it yet." : "Email confirmed: \(report.tickets) ticket(s)."
    }
}

private struct TicketRow: View {
    let ticket: TicketSummary

    var body: some View {
        HStack {
            VStack(alignment: .leading, spacing: 2) {
                Text(ticket.event.name).font(.headline)
                Text(Presentation.seatLabel(ticket.seat)).font(.subheadline)
                if case .locked(let opensAt) = ticket.state {
                    Text("Opens \(Presentation.opensAtText(opensAt))").font(.caption).foregroundStyle(.secondary)
                }
            }
            Spacer()
            StateChip(state: ticket.state)
        }
    }
}

private struct StateChip: View {
    let state: RevealState

    var body: some View {
        let chip = Presentation.chip(state)
        Text(chip.label)
            .font(.caption.weight(.medium))
            .padding(.horizontal, 10)
            .padding(.vertical, 4)
            .background(color(chip.tone), in: Capsule())
    }

    private func color(_ tone: Presentation.Tone) -> Color {
        switch tone {
        case .ready: return .green.opacity(0.25)
        case .waiting: return .yellow.opacity(0.3)
        case .action: return .orange.opacity(0.3)
        case .inactive: return .gray.opacity(0.2)
        }
    }
}
