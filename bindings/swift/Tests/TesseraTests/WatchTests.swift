import Foundation
import Tessera
import XCTest

/// `Wallet.watch` from Swift: the state when the watch starts and when the window opens,
/// then one frame per step delivered at the step boundary, until the handle is stopped
/// (`stop()`, or released).
/// Mirrors WatchTest.kt.
final class WatchTests: XCTestCase {
    private var issuer: IssuerProcess!

    override func setUpWithError() throws { issuer = try IssuerProcess.start() }
    override func tearDown() { issuer?.stop() }

    func testWatchGetsTheWindowOpeningThenAFrameAtEveryStepBoundaryUntilClosed() async throws {
        let period: Int64 = 5
        let opensAt = nowSecs() + 5
        let event = issuer.newEventId()
        try await issuer.createEvent(event, opensAt: opensAt, periodSecs: Int(period))
        let email = "watch@example.com"
        let tickets = try await issuer.order(event, email: email, seats: ["B-7"])
        let ticketId = try XCTUnwrap(tickets.first)

        let wallet = try Wallet.open(dbPath: try tempDatabase(), issuerUrl: issuer.url, vault: FakeKeyVault())
        let synced = try await wallet.enrollVerifyAndSync(issuer, email: email)
        XCTAssertEqual(synced, 1)
        let listener = RecordingListener()
        let handle = try wallet.watch(ticketId: ticketId, listener: listener)
        XCTAssertTrue(handle.isActive())

        // The state now, then the window opening on its own (no call from us).
        XCTAssertEqual(listener.states.take(timeout: 2), .locked(opensAt: opensAt))
        guard case .ready = listener.states.take(timeout: 8) else {
            handle.stop()
            return XCTFail("the window did not open")
        }

        // The first frame comes when the window opens, mid-step; the next ones at the
        // boundaries, each for the step after the one before.
        var frames: [(arrivedAt: Int64, frame: Frame)] = []
        for i in 1...3 {
            guard let next = listener.frames.take(timeout: Double(period) + 2) else {
                handle.stop()
                return XCTFail("frame \(i) did not come")
            }
            frames.append(next)
        }
        XCTAssertGreaterThanOrEqual(frames[0].arrivedAt, opensAt * 1000, "no frame before the window opens")
        for i in 1..<frames.count {
            let (arrivedAt, frame) = frames[i]
            XCTAssertEqual(frame.step, frames[i - 1].frame.step + 1, "consecutive steps")
            XCTAssertEqual(frame.ticketId, ticketId)
            XCTAssertNotEqual(frame.payload, frames[i - 1].frame.payload, "the code rotates")
            // Near the boundary: not before it, and well within the step.
            let late = arrivedAt - frame.startsAtMs
            XCTAssertGreaterThanOrEqual(late, -50, "frame \(frame.step) arrived early")
            XCTAssertLessThan(late, 1000, "frame \(frame.step) arrived \(late) ms late")
        }

        handle.stop()
        XCTAssertFalse(handle.isActive())

        // A second watch, ended the Swift way: releasing the handle stops the watch too.
        let second = RecordingListener()
        var secondHandle: WatchHandle? = try wallet.watch(ticketId: ticketId, listener: second)
        guard case .ready = second.states.take(timeout: 2) else { return XCTFail("second watch: not ready") }
        XCTAssertNotNil(second.frames.take(timeout: 2), "a ready ticket's frame at once")
        XCTAssertTrue(secondHandle?.isActive() == true)
        secondHandle = nil

        // Both stopped: the next boundary passes with no frame for either.
        listener.frames.clear()
        second.frames.clear()
        XCTAssertNil(listener.frames.take(timeout: Double(period) + 1), "frame after stop()")
        XCTAssertNil(second.frames.take(timeout: 0), "frame after the handle was released")
    }
}
