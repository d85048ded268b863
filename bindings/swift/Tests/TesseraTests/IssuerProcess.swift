import Foundation

/// A test harness failure (not a Tessera error).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The real reference issuer (`target/debug/tessera-issuer`, or `$TESSERA_ISSUER`) in a
/// child process on a free loopback port with a temporary data dir, and a small client of
/// its admin API (docs/API.md). Runs on the system clock, like the wallets under test.
/// Mirrors bindings/kotlin/src/test/kotlin/dev/tessera/IssuerProcess.kt. macOS only
/// (Foundation.Process).
final class IssuerProcess {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    let url: String
    /// Bearer token of the admin role, printed by the issuer at start-up.
    let adminToken: String
    private let process: Process
    private let dataDir: URL
    private var nextEvent: UInt64 = 1

    private init(process: Process, dataDir: URL, url: String, adminToken: String) {
        self.process = process
        self.dataDir = dataDir
        self.url = url
        self.adminToken = adminToken
    }

    /// The issuer binary: `$TESSERA_ISSUER`, else the workspace's debug build.
    static func binary() -> URL {
        if let path = ProcessInfo.processInfo.environment["TESSERA_ISSUER"] {
            return URL(fileURLWithPath: path)
        }
        // <workspace>/bindings/swift/Tests/TesseraTests/IssuerProcess.swift
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { root = root.deletingLastPathComponent() }
        return root.appendingPathComponent("target/debug/tessera-issuer")
    }

    /// Starts the issuer and reads its URL and admin token.
    static func start() throws -> IssuerProcess {
        let executable = binary()
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw HarnessError("no issuer binary at \(executable.path): run `cargo build -p tessera-issuer` first")
        }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-issuer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--data-dir", dir.appendingPathComponent("data").path, "--port", "0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()

        // The issuer prints exactly these two lines (issuer/src/main.rs), then serves.
        var text = ""
        while text.filter({ $0 == "\n" }).count < 2 {
            let chunk = out.fileHandleForReading.availableData  // blocks; empty at EOF
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= 2,
              let url = lines[0].range(of: "listening on ").map({ String(lines[0][$0.upperBound...]) }),
              lines[1].hasPrefix("admin token: ")
        else {
            process.terminate()
            throw HarnessError("unexpected issuer output: \(text)")
        }
        let token = String(lines[1].dropFirst("admin token: ".count))
        return IssuerProcess(process: process, dataDir: dir, url: url, adminToken: token)
    }

    /// A fresh event id on this issuer.
    func newEventId() -> UInt64 {
        defer { nextEvent += 1 }
        return nextEvent
    }

    /// Creates an event (an `EventPolicy`, core/src/policy.rs) whose reveal window opens
    /// at `opensAt` (Unix seconds) and lasts six hours.
    func createEvent(
        _ id: UInt64, opensAt: Int64, periodSecs: Int = 5, format: String = "T1", requires: [String] = []
    ) async throws {
        let policy: [String: Any] = [
            "event_id": id, "name": "Event \(id)",
            "reveal_opens_at": opensAt, "valid_until": opensAt + 6 * 3600,
            "period_secs": periodSecs, "format": format,
            "totp_algorithm": "Sha1", "totp_digits": 8, "strict_jit": false,
            "requires": requires, "personalised": false, "change_block": false,
            "reentry": false, "transferable": false,
        ]
        _ = try await send("POST", "/v1/admin/events", body: policy)
    }

    /// Sells one ticket per seat of `eventId` to `email`; answers the ticket ids (hex).
    func order(_ eventId: UInt64, email: String, seats: [String]) async throws -> [String] {
        let body: [String: Any] = [
            "event_id": eventId, "email": email, "phone": NSNull(), "holder_name": NSNull(), "seats": seats,
        ]
        let data = try await send("POST", "/v1/admin/orders", body: body)
        let answer = try JSONSerialization.jsonObject(with: data)
        guard let tickets = (answer as? [String: Any])?["tickets"] as? [String] else {
            throw HarnessError("order answer without tickets")
        }
        return tickets
    }

    /// The gate bundle of an event, as the JSON text a gate downloads.
    func gateBundle(_ eventId: UInt64) async throws -> String {
        let tokenData = try await send("POST", "/v1/admin/tokens", body: ["role": "gate"])
        let minted = try JSONSerialization.jsonObject(with: tokenData)
        guard let token = (minted as? [String: Any])?["token"] as? String else {
            throw HarnessError("no gate token")
        }
        let data = try await send("GET", "/v1/gate/events/\(eventId)/bundle", token: token)
        return String(decoding: data, as: UTF8.self)
    }

    /// The one-time token of the last verification link emailed to `email` (dev outbox).
    func emailToken(_ email: String) async throws -> String {
        let outbox = try await send("GET", "/v1/dev/outbox")
        let all = try JSONSerialization.jsonObject(with: outbox)
        guard let body = (all as? [[String: Any]])?.last(where: { $0["to"] as? String == email })?["body"] as? String,
              let range = body.range(of: "token=[0-9a-f]{64}", options: .regularExpression)
        else { throw HarnessError("no verification link to \(email) in the outbox") }
        return String(body[range].dropFirst("token=".count))
    }

    private func send(_ method: String, _ path: String, body: Any? = nil, token: String? = nil) async throws -> Data {
        guard let target = URL(string: url + path) else { throw HarnessError("bad URL \(url + path)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.setValue("Bearer \(token ?? adminToken)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw HarnessError("\(method) \(path): \(status) \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    /// Stops the issuer and deletes its data dir.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dataDir)
    }
}
