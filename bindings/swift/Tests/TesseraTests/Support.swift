import Foundation
import Tessera

/// Unix seconds now, on the system clock (the issuer's and the wallets' clock here).
func nowSecs() -> Int64 { Int64(Date().timeIntervalSince1970) }

/// Unix milliseconds now.
func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// Sleeps until the system clock reaches `unixMs`.
func sleepUntil(_ unixMs: Int64) async throws {
    let wait = unixMs - nowMs()
    if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait) * 1_000_000) }
}

/// A SQLite path in a fresh temporary directory.
func tempDatabase(_ name: String = "wallet") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("\(name).db").path
}

extension Wallet {
    /// What a user does after buying: enroll, confirm the emailed link (read from the
    /// issuer's dev outbox) and sync. Answers how many tickets the sync brought.
    func enrollVerifyAndSync(_ issuer: IssuerProcess, email: String) async throws -> UInt32 {
        _ = try await enroll(platform: "swift")
        _ = try await requestEmail(email: email)
        let token = try await issuer.emailToken(email)
        _ = try await confirmEmail(token: token)
        return try await sync().tickets
    }
}

/// A queue a callback thread fills and a test drains with a timeout.
final class BlockingQueue<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []

    func put(_ item: T) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    /// The oldest item, waiting at most `timeout` seconds; nil on timeout.
    func take(timeout: TimeInterval) -> T? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty {
            if !condition.wait(until: deadline) { return nil }
        }
        return items.removeFirst()
    }

    func clear() {
        condition.lock()
        items.removeAll()
        condition.unlock()
    }
}

/// A `FrameListener` written in Swift: records what it is told and when.
final class RecordingListener: FrameListener, @unchecked Sendable {
    /// Each frame with the system time (Unix ms) it arrived.
    let frames = BlockingQueue<(arrivedAt: Int64, frame: Frame)>()
    let states = BlockingQueue<RevealState>()

    func onFrame(frame: Frame) { frames.put((nowMs(), frame)) }
    func onState(state: RevealState) { states.put(state) }
}
