import Foundation
import Logging

/// One log line and the metrics for each decided scan. The log names the pass by its id: a whole
/// pass is a credential and never goes to the journal.
struct DecisionReporter: Sendable {
    let metrics: GatewayMetrics
    let logger: Logger

    /// `scan_to_relay_ms` runs from the frame's capture to the relay line set for the grant; a
    /// grant the door did not carry out (refused, or the door had stopped) has none.
    func report(_ outcome: EntranceDecision) {
        let decodeMs = Self.milliseconds(outcome.code.decodeTime)
        let relayMs = outcome.scanToRelay.map(Self.milliseconds)
        guard let decision = outcome.decision else {
            metrics.scanned(door: outcome.door, reason: "not_recorded", granted: false, decodeMs: decodeMs, scanToRelayMs: nil)
            logger.error(
                "scan not decided; the door stays shut",
                metadata: ["door": "\(outcome.door)", "error": "\(outcome.failure ?? "unknown")"]
            )
            return
        }
        metrics.scanned(
            door: outcome.door,
            reason: decision.reason.rawValue,
            granted: decision.granted,
            decodeMs: decodeMs,
            scanToRelayMs: relayMs
        )
        var metadata: Logger.Metadata = [
            "door": "\(outcome.door)", "reason": "\(decision.reason.rawValue)", "seq": "\(decision.seq)",
            "hash": "\(decision.hash)",
            "decode_ms": "\(String(format: "%.1f", decodeMs))",
        ]
        if let pass = decision.pass { metadata["pass"] = "\(pass)" }
        if let member = decision.member { metadata["member"] = "\(member)" }
        if let relayMs { metadata["scan_to_relay_ms"] = "\(String(format: "%.1f", relayMs))" }
        logger.info(decision.granted ? "granted" : "denied", metadata: metadata)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
