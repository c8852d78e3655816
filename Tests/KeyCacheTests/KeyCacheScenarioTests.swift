import AccessToken
import Foundation
import HQProtocol
import KeyCache
import TestSupport
import Testing

/// A fresh store in a temporary directory.
func makeStore() throws -> GatewayStore {
    try GatewayStore(path: TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path)
}

struct KeyCacheCase: CustomStringConvertible, Sendable {
    var name: String
    var door: String
    var at: Double
    var qr: String
    var expectReason: String
    var description: String { name }
}

enum KeyCacheScenario {
    static let snapshot = TestPaths.sharedFile("vectors/keycache/snapshot.json")
    static let cases: [KeyCacheCase] = {
        guard let list = try? readJSON(TestPaths.sharedFile("vectors/keycache/cases.json")) as? [[String: Any]] else {
            return []
        }
        return list.map {
            KeyCacheCase(
                name: $0["name"] as! String,
                door: $0["door"] as! String,
                at: ($0["at"] as! NSNumber).doubleValue,
                qr: $0["qr"] as! String,
                expectReason: $0["expect_reason"] as! String
            )
        }
    }()
}

@Suite struct KeyCacheScenarioTests {
    @Test func scenarioIsPresent() {
        #expect(KeyCacheScenario.cases.count >= 15)
    }

    /// The cases share use counts, so they run in order in one test.
    @Test func decidesEveryCaseInOrder() throws {
        let store = try makeStore()
        try store.apply(try SnapshotDocument.parse(Data(contentsOf: KeyCacheScenario.snapshot)))
        let decider = AccessDecider(store: store)
        for c in KeyCacheScenario.cases {
            let decision = try decider.decide(c.qr, door: c.door, now: c.at)
            #expect(decision.reason.rawValue == c.expectReason, "\(c.name): \(decision.detail)")
        }
        let events = try store.auditEvents(.init())
        #expect(events.count == KeyCacheScenario.cases.count)
        #expect(events.map(\.reason) == KeyCacheScenario.cases.map(\.expectReason))
        #expect(try store.verifyAuditChain() == .intact(events: KeyCacheScenario.cases.count))
    }
}
