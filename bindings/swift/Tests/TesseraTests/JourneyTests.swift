import Foundation
import Tessera
import XCTest

/// The attendee journey from Swift against the real library and a real issuer: enroll
/// and sync, locked before the window, frames after, the gate verifier admits the frame
/// and rejects its replay; the wallet's key lives in a vault written in Swift.
/// Mirrors JourneyTest.kt.
final class JourneyTests: XCTestCase {
    private var issuer: IssuerProcess!

    override func setUpWithError() throws { issuer = try IssuerProcess.start() }
    override func tearDown() { issuer?.stop() }

    func testEnrollSyncLockedBeforeTheWindowFramesAfterTheGateAdmitsOnce() async throws {
        let period: Int64 = 5
        let opensAt = nowSecs() + 5
        let event = issuer.newEventId()
        try await issuer.createEvent(event, opensAt: opensAt, periodSecs: Int(period), requires: ["Email"])
        let email = "journey@example.com"
        let tickets = try await issuer.order(event, email: email, seats: ["A-1"])
        let ticketId = try XCTUnwrap(tickets.first)
        let vault = FakeKeyVault()
        let path = try tempDatabase()

        let wallet = try Wallet.open(dbPath: path, issuerUrl: issuer.url, vault: vault)
        // A new wallet makes its key and has the Swift vault wrap it.
        XCTAssertEqual(vault.wraps, 1)

        let enrollment = try await wallet.enroll(platform: "swift")
        XCTAssertEqual(enrollment.deviceId, wallet.devicePublicKeyHex())
        // Until the emailed link is confirmed from this device, a sync brings nothing.
        let empty = try await wallet.sync()
        XCTAssertEqual(empty.tickets, 0)
        XCTAssertTrue(try wallet.tickets().isEmpty)
        _ = try await wallet.requestEmail(email: email)
        let token = try await issuer.emailToken(email)
        let status = try await wallet.confirmEmail(token: token)
        XCTAssertTrue(status.verified.contains(.email))
        let report = try await wallet.sync()
        XCTAssertEqual(report.tickets, 1)

        let summary = try XCTUnwrap(try wallet.tickets().first)
        XCTAssertEqual(summary.ticketId, ticketId)
        XCTAssertEqual(summary.seat, "A-1")
        XCTAssertEqual(summary.event.eventId, event)

        // Before the window: locked, with the opening time, and no barcode.
        XCTAssertEqual(summary.state, .locked(opensAt: opensAt))
        XCTAssertThrowsError(try wallet.frame(ticketId: ticketId)) { error in
            guard case WalletError.Locked(let at) = error else {
                return XCTFail("expected WalletError.Locked, got \(error)")
            }
            XCTAssertEqual(at, opensAt)
            XCTAssertTrue((error as? WalletError)?.description.contains("locked until \(opensAt)") == true)
        }

        // Inside the window: a frame for the current step.
        try await sleepUntil(opensAt * 1000 + 200)
        guard case .ready = try wallet.revealState(ticketId: ticketId) else {
            return XCTFail("not ready inside the window")
        }
        let frame = try wallet.frame(ticketId: ticketId)
        let now = nowMs()
        XCTAssertEqual(frame.ticketId, ticketId)
        XCTAssertEqual(frame.format, .t1)
        XCTAssertEqual(frame.endsAtMs - frame.startsAtMs, period * 1000)
        XCTAssertEqual(Int64(frame.step), frame.startsAtMs / (period * 1000))
        XCTAssertTrue((frame.startsAtMs - 1000..<frame.endsAtMs + 1000).contains(now), "frame is for now")
        XCTAssertEqual(frame.qrModules.count, Int(frame.qrSize) * Int(frame.qrSize))
        XCTAssertTrue(frame.qrModules.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertTrue(frame.qrSvg(modulePx: 4).contains("<svg"))

        // The door: admitted once, the same code again is a replay.
        let bundle = try await issuer.gateBundle(event)
        let gate = try GateVerifier(bundleJson: bundle, gateId: "gate-a", scanLogPath: try tempDatabase("gate-a"))
        XCTAssertEqual(gate.eventId(), event)
        let first = gate.verify(payload: frame.payload, nowMs: now)
        guard case let .admit(admitted, seat, _) = first.verdict else {
            return XCTFail("not admitted: \(first.verdict)")
        }
        XCTAssertEqual(admitted, ticketId)
        XCTAssertEqual(seat, "A-1")
        XCTAssertEqual(first.step, frame.step)
        guard case let .reject(reason) = gate.verify(payload: frame.payload, nowMs: now).verdict else {
            return XCTFail("replay admitted")
        }
        XCTAssertEqual(reason, .replay)
        XCTAssertEqual(reason.code(), "replay")
        XCTAssertFalse(reason.doorText().isEmpty)

        // Reopened from its file (an app restart): the Swift vault unwraps the key, and
        // once time is anchored again in this clock session the ticket shows.
        let unwrapsBefore = vault.unwraps
        let again = try Wallet.open(dbPath: path, issuerUrl: issuer.url, vault: vault)
        XCTAssertGreaterThan(vault.unwraps, unwrapsBefore)
        XCTAssertEqual(try again.tickets().map(\.ticketId), [ticketId])
        _ = try await again.refreshTime()
        XCTAssertEqual(try again.frame(ticketId: ticketId).ticketId, ticketId)

        // A vault that lost the key (keystore reset) cannot open the wallet.
        XCTAssertThrowsError(try Wallet.open(dbPath: path, issuerUrl: issuer.url, vault: FakeKeyVault())) { error in
            guard case WalletError.KeyMissing = error else { return XCTFail("expected KeyMissing, got \(error)") }
        }
    }
}
