import SwiftUI
import Tessera

/// What a developer changes to point the demo elsewhere.
enum Config {
    /// The issuer. The iOS simulator shares the Mac's network stack, so an issuer running
    /// on the Mac is on the simulator's loopback. The wallet accepts plain HTTP to loopback
    /// only; any other issuer must be HTTPS. (On a physical iPhone, 127.0.0.1 is the phone
    /// itself: use an HTTPS issuer.)
    static let issuerURL = "http://127.0.0.1:8080"
    /// The platform label sent at enrollment.
    static let platform = "ios"
}

@main
struct TesseraDemoApp: App {
    @StateObject private var app = AppModel()

    var body: some Scene {
        WindowGroup {
            RootView()
                .environmentObject(app)
                // tessera://verify-email?token=… (Info.plist registers the scheme).
                .onOpenURL { app.pendingLink = $0.absoluteString }
        }
    }
}

/// Holds the app's one `Wallet` (thread-safe, meant to be shared).
@MainActor
final class AppModel: ObservableObject {
    @Published private(set) var wallet: Wallet?
    @Published private(set) var openError: String?
    /// A verify-email link the app was opened with, until the ticket list handles it.
    @Published var pendingLink: String?

    func open() async {
        guard wallet == nil else { return }
        do {
            let dir = try Self.walletDirectory()
            // Wallet.open blocks on SQLite and the Keychain: off the main actor.
            wallet = try await Task.detached(priority: .userInitiated) {
                try Wallet.open(
                    dbPath: dir.appendingPathComponent("tessera-wallet.sqlite").path,
                    issuerUrl: Config.issuerURL,
                    vault: KeychainKeyVault(),
                    presence: BiometricPresenceGate(),
                    clock: SystemClockSource(),
                    logger: UnifiedLogger()
                )
            }.value
        } catch {
            openError = describe(error)
        }
    }

    /// Application Support/Wallet, kept out of backups: the file is useless without this
    /// phone's Secure Enclave key, which never leaves it (a restored copy ends in KeyMissing).
    private static func walletDirectory() throws -> URL {
        var dir = try FileManager.default
            .url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("Wallet", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try dir.setResourceValues(values)
        return dir
    }
}

/// Opens the wallet, then shows the tickets.
struct RootView: View {
    @EnvironmentObject private var app: AppModel

    var body: some View {
        Group {
            if let wallet = app.wallet {
                TicketListView(wallet: wallet)
            } else if let error = app.openError {
                Text("Cannot open the wallet: \(error)").padding()
            } else {
                ProgressView()
            }
        }
        .task { await app.open() }
    }
}

/// The text to show for a failure: the library's own readable message where there is one.
func describe(_ error: Error) -> String {
    if let e = error as? WalletError { return e.description }
    return error.localizedDescription
}

/// Runs one user action at a time and keeps what the screen shows about it.
@MainActor
final class ActionRunner: ObservableObject {
    @Published private(set) var busy = false
    @Published var message: String?

    /// Runs `work`; the text it returns (if any) is shown when it succeeds.
    func run(_ work: @escaping @MainActor () async throws -> String?) {
        guard !busy else { return }
        busy = true
        message = nil
        Task { @MainActor in
            defer { busy = false }
            do {
                message = try await work()
            } catch {
                message = describe(error)
            }
        }
    }
}
