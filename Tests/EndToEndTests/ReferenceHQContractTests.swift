import Foundation
import TestSupport
import Testing

/// The reference HQ's answers where docs/openapi.yaml states a rule that schemathesis
/// (scripts/api-contract.sh) relies on: 405 with `Allow` for a method a path does not answer, and
/// exactly the `since`/`until` forms of the `TimeFilter` pattern.
struct ReferenceHQContractTests {
    /// One server for each table: a reference HQ per case would cost a process start each.
    @Test func aMethodAPathDoesNotAnswerIs405WithAllow() async throws {
        let hq = try ReferenceHQ(seed: nil)
        let cases = [
            ("TRACE", "/v1/snapshot", "GET"),
            ("PUT", "/v1/events", "POST, GET"),
            ("DELETE", "/v1/enrol", "POST"),
            ("PATCH", "/v1/snapshot/1/chunks/0", "GET"),
            ("POST", "/v1/commands", "GET"),
            ("TRACE", "/", "GET"),
        ]
        for (method, path, allow) in cases {
            let answer = try await HTTP.request(method, hq, path)
            #expect(answer.status == 405, "\(method) \(path): \(answer.status) \(answer.text)")
            #expect(answer.header("Allow") == allow, "\(method) \(path)")
            let body = try JSONSerialization.jsonObject(with: answer.body) as? [String: String]
            #expect(body?["error"] == "method_not_allowed", "\(method) \(path)")
        }
    }

    @Test func anUnknownPathIsStill404() async throws {
        let hq = try ReferenceHQ(seed: nil)
        let answer = try await HTTP.request("TRACE", hq, "/v1/nothing")
        #expect(answer.status == 404)
        #expect(answer.header("Allow") == nil)
    }

    @Test func sinceTakesExactlyTheDocumentedForms() async throws {
        let hq = try ReferenceHQ(seed: nil)
        let cases = [
            ("1800000000", 200), ("-5", 200), ("1800000000.25", 200), ("2030-01-31", 200), ("2030-01-31T08:00", 200),
            ("2030-01-31T08:00:59Z", 200), ("2030-01-31%2008:00%2B07:00", 200), ("", 200),
            ("%205", 400), ("5%20", 400), ("1e5", 400), ("inf", 400), ("2030-13-01", 400), ("2030-01-31T24:00", 400),
            ("2030-1-31", 400), ("2030-01-31T08", 400), ("0x10", 400),
        ]
        for (value, status) in cases {
            let answer = try await HTTP.get(hq, "/v1/events?since=" + value)
            #expect(answer.status == status, "since=\(value): \(answer.text)")
        }
    }
}
