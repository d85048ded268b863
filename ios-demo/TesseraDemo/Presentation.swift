import Foundation
import Tessera

/// The demo's presentation rules, the same as the Android demo's `presentation/` (which CI
/// tests on the JVM; this Swift copy is not built anywhere in CI). No UIKit, no SwiftUI.
enum Presentation {
    /// The light margin around a QR code, in modules.
    static let quietZone = 4

    /// A horizontal run of dark modules, in module units, quiet zone included.
    struct Run: Equatable {
        let x: Int, y: Int, width: Int
    }

    /// The drawing's side in modules: the code plus the quiet zone on both sides.
    static func sideModules(_ qrSize: Int) -> Int { qrSize + 2 * quietZone }

    /// `Frame.qrModules` (`qrSize²` bytes, row-major, 1 = dark) as runs to fill: one
    /// rectangle per run rather than per module, and no seams between neighbours.
    static func darkRuns(qrSize: Int, modules: Data) -> [Run] {
        let bytes = [UInt8](modules)
        guard qrSize > 0, bytes.count == qrSize * qrSize else { return [] }
        var runs: [Run] = []
        for row in 0..<qrSize {
            var col = 0
            while col < qrSize {
                if bytes[row * qrSize + col] == 0 { col += 1; continue }
                let start = col
                while col < qrSize, bytes[row * qrSize + col] != 0 { col += 1 }
                runs.append(Run(x: start + quietZone, y: row + quietZone, width: col - start))
            }
        }
        return runs
    }

    /// `0:42`, `12:05`, `3:04:05`, `2d 03:04:05`; rounded up, so `0:00` never shows early.
    static func countdownText(ms: Int64) -> String {
        let secs = ms <= 0 ? 0 : (ms + 999) / 1000
        let d = secs / 86_400, h = secs % 86_400 / 3_600, m = secs % 3_600 / 60, s = secs % 60
        if d > 0 { return String(format: "%lldd %02lld:%02lld:%02lld", d, h, m, s) }
        if h > 0 { return String(format: "%lld:%02lld:%02lld", h, m, s) }
        return String(format: "%lld:%02lld", m, s)
    }

    static func msUntilOpen(opensAt: Int64, provenNowMs: Int64) -> Int64 {
        max(0, opensAt * 1000 - provenNowMs)
    }

    /// 1 when the frame starts, 0 when the next one is due: the bar under the code.
    static func stepFractionLeft(startsAtMs: Int64, endsAtMs: Int64, nowMs: Int64) -> Double {
        let length = endsAtMs - startsAtMs
        guard length > 0 else { return 0 }
        return min(1, max(0, Double(endsAtMs - nowMs) / Double(length)))
    }

    static func stepSecondsLeft(endsAtMs: Int64, nowMs: Int64) -> Int64 {
        endsAtMs <= nowMs ? 0 : (endsAtMs - nowMs + 999) / 1000
    }

    /// A frame more than 2 s past its step: the next one is late, do not show a dead code.
    static func frameIsStale(endsAtMs: Int64, nowMs: Int64) -> Bool {
        nowMs > endsAtMs + 2_000
    }

    enum Tone { case ready, waiting, action, inactive }

    static func chip(_ state: RevealState) -> (label: String, tone: Tone) {
        switch state {
        case .locked: return ("Locked", .waiting)
        case .needsVerification: return ("Verify", .action)
        case .needsSync: return ("Sync to unlock", .action)
        case .ready: return ("Ready", .ready)
        case .expired: return ("Expired", .inactive)
        case .revoked: return ("Revoked", .inactive)
        case .boundElsewhere: return ("On another phone", .inactive)
        case .tampered: return ("Damaged: sync", .action)
        }
    }

    static func explanation(_ state: RevealState) -> String {
        switch state {
        case .locked: return "The code appears when the doors open."
        case .needsVerification(let missing):
            return "Still needed: " + missing.map(verificationLabel).joined(separator: ", ") + "."
        case .needsSync: return "The doors are open: sync once to unlock the code."
        case .ready: return "Show this code at the gate."
        case .expired: return "This event is over."
        case .revoked: return "The issuer cancelled this ticket."
        case .boundElsewhere: return "This ticket now belongs to another phone."
        case .tampered: return "This ticket's data on the phone is damaged; a sync restores it."
        }
    }

    static func verificationLabel(_ v: Verification) -> String {
        switch v {
        case .email: return "email address"
        case .phone: return "phone number"
        case .presence: return "a check that it's you"
        }
    }

    static func seatLabel(_ seat: String) -> String {
        seat.trimmingCharacters(in: .whitespaces).isEmpty ? "General admission" : seat
    }

    static func opensAtText(_ opensAt: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(opensAt)).formatted(date: .abbreviated, time: .shortened)
    }

    /// The token of `tessera://verify-email?token=<64 hex>`, or a bare token; nil otherwise.
    static func verifyEmailToken(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        func isToken(_ s: String) -> Bool { s.count == 64 && s.allSatisfy { "0123456789abcdef".contains($0) } }
        if isToken(t) { return t }
        guard let url = URLComponents(string: t), url.scheme?.lowercased() == "tessera",
              url.host?.lowercased() == "verify-email",
              let token = url.queryItems?.first(where: { $0.name == "token" })?.value, isToken(token)
        else { return nil }
        return token
    }
}

/// The wallet's time (`Wallet.timeStatus()`) read once and carried forward on the
/// monotonic clock, so the countdown and the step bar follow trusted time, not the
/// phone's settable clock, without asking the library 60 times a second.
struct TimeAnchor: Equatable {
    let nowMs: Int64
    let provenMs: Int64
    let monotonicMs: Int64

    init(_ status: TimeStatus) {
        nowMs = status.nowMs
        provenMs = status.provenMs
        monotonicMs = SystemClockSource.monotonicMs()
    }

    var now: Int64 { nowMs + (SystemClockSource.monotonicMs() - monotonicMs) }
    var proven: Int64 { provenMs + (SystemClockSource.monotonicMs() - monotonicMs) }
}
