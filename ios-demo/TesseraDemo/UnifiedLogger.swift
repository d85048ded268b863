import os
import Tessera

/// The library's log lines to the unified log (Console.app, subsystem dev.tessera.demo).
/// They carry no secrets or personal data (API.md), so they are logged as public.
final class UnifiedLogger: Tessera.Logger {
    private let sink = os.Logger(subsystem: "dev.tessera.demo", category: "tessera")

    func log(level: LogLevel, message: String) {
        switch level {
        case .error: sink.error("\(message, privacy: .public)")
        case .warn: sink.warning("\(message, privacy: .public)")
        case .info: sink.info("\(message, privacy: .public)")
        case .debug: sink.debug("\(message, privacy: .public)")
        }
    }
}
