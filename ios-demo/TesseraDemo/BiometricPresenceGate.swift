import Foundation
import LocalAuthentication
import Tessera

/// "Is the ticket holder here?" through LocalAuthentication: Face ID / Touch ID, or the
/// device passcode (`.deviceOwnerAuthentication`).
///
/// The library's `PresenceGate.confirm` is **synchronous**: it is called on the thread that
/// called `Wallet.confirmPresence` and must return the answer (API.md).
/// `LAContext.evaluatePolicy` answers asynchronously on a queue of its own, so `confirm`
/// starts it and blocks its thread on a semaphore until the reply. The app therefore calls
/// `confirmPresence` from a detached task (TicketView), never on the main thread, where
/// blocking would freeze the UI; there this gate refuses instead.
final class BiometricPresenceGate: PresenceGate {
    func confirm(reason: String) throws -> Bool {
        guard !Thread.isMainThread else { throw CalledOnMainThread() }
        let context = LAContext()
        var unavailable: NSError?
        // No Face ID / Touch ID and no passcode set: nobody can be confirmed.
        guard context.canEvaluatePolicy(.deviceOwnerAuthentication, error: &unavailable) else { return false }

        let answered = DispatchSemaphore(value: 0)
        let result = Answer()
        context.evaluatePolicy(.deviceOwnerAuthentication, localizedReason: reason) { passed, _ in
            result.passed = passed // cancelled, failed, app gone: false
            answered.signal()
        }
        // Bounded, so a prompt that never answers cannot hold a library thread forever.
        guard answered.wait(timeout: .now() + 120) == .success else {
            context.invalidate()
            return false
        }
        return result.passed
    }
}

/// Written before the semaphore is signalled, read after the wait returns: ordered by it.
private final class Answer: @unchecked Sendable {
    var passed = false
}

private struct CalledOnMainThread: Error {}
