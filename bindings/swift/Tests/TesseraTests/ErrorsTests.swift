import Foundation
import Tessera
import XCTest

/// A key vault whose keystore fails with an error of its own (not a `VaultError`).
private final class BrokenVault: KeyVault, @unchecked Sendable {
    struct Busy: Error {}
    func wrap(walletId: String, kek: Data) throws -> Data { throw Busy() }
    func unwrap(walletId: String, wrapped: Data) throws -> Data { throw VaultError.KeyNotFound }
    func delete(walletId: String) throws {}
}

/// Failures reach Swift as typed errors carrying their fields. Mirrors ErrorsTest.kt.
final class ErrorsTests: XCTestCase {
    private var issuer: IssuerProcess!

    override func setUpWithError() throws { issuer = try IssuerProcess.start() }
    override func tearDown() { issuer?.stop() }

    func testPlainHttpToAnotherHostIsRefused() throws {
        XCTAssertThrowsError(
            try Wallet.open(dbPath: try tempDatabase(), issuerUrl: "http://tickets.example.com", vault: FakeKeyVault())
        ) { error in
            guard case WalletError.InsecureUrl(let url) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(url.contains("tickets.example.com"))
            // `description` is the library's readable message.
            XCTAssertTrue((error as? WalletError)?.description.contains("HTTPS required") == true)
        }
    }

    func testAnIssuerNobodyAnswersForIsANetworkErrorAndLocalCallsStillWork() async throws {
        let wallet = try Wallet.open(dbPath: try tempDatabase(), issuerUrl: "http://127.0.0.1:9", vault: FakeKeyVault())
        do {
            _ = try await wallet.enroll(platform: "swift")
            XCTFail("enrolled with nobody listening")
        } catch WalletError.Network {
            // expected
        }
        XCTAssertTrue(try wallet.tickets().isEmpty)
    }

    func testBadAndUnknownTicketIds() throws {
        let wallet = try Wallet.open(dbPath: try tempDatabase(), issuerUrl: issuer.url, vault: FakeKeyVault())
        XCTAssertThrowsError(try wallet.frame(ticketId: "not-a-ticket")) { error in
            guard case WalletError.Invalid(let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("32 hex"))
        }
        let unknown = String(repeating: "00", count: 16)
        XCTAssertThrowsError(try wallet.revealState(ticketId: unknown)) { error in
            guard case WalletError.NotFound(let what) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(what.contains(unknown))
        }
    }

    func testIssuerRefusalsArriveTypedFromAsyncFunctions() async throws {
        let wallet = try Wallet.open(dbPath: try tempDatabase(), issuerUrl: issuer.url, vault: FakeKeyVault())
        do {
            _ = try await wallet.sync()
            XCTFail("synced before enrolling")
        } catch WalletError.Unauthorized(let code) {
            XCTAssertEqual(code, "unauthorized")
        }
        _ = try await wallet.enroll(platform: "swift")
        do {
            _ = try await wallet.requestPhone(phone: "+33600000000")
            XCTFail("phone request before the email was confirmed")
        } catch WalletError.NeedsVerification {
            // expected
        }
    }

    func testAVaultThatThrowsMakesTheWalletReportTheVaultAsUnavailable() throws {
        XCTAssertThrowsError(
            try Wallet.open(dbPath: try tempDatabase(), issuerUrl: issuer.url, vault: BrokenVault())
        ) { error in
            guard case WalletError.VaultUnavailable = error else { return XCTFail("got \(error)") }
        }
    }

    func testTheGateRefusesABundleThatIsNotOne() throws {
        XCTAssertThrowsError(
            try GateVerifier(bundleJson: "{\"not\":\"a bundle\"}", gateId: "gate-x", scanLogPath: try tempDatabase("g"))
        ) { error in
            guard case GateError.UntrustedBundle(let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("not signed"))
        }
    }

    func testTheGateRejectsAPayloadThatIsNotACode() async throws {
        let event = issuer.newEventId()
        try await issuer.createEvent(event, opensAt: nowSecs() - 10)
        let bundle = try await issuer.gateBundle(event)
        let gate = try GateVerifier(bundleJson: bundle, gateId: "gate-x", scanLogPath: try tempDatabase("g"))
        XCTAssertEqual(gate.verify(payload: "hello", nowMs: nowMs()).verdict, .reject(reason: .malformed))
    }
}
