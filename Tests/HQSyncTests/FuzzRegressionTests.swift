import AccessToken
import Crypto
import Foundation
import HQProtocol
import HQSync
import TestSupport
import Testing

/// Replays the hqcommand fuzz target's reproducers (Tests/Fuzz/regressions/hqcommand) and edge
/// inputs (Tests/Fuzz/edge/hqcommand) as Tests/Fuzz/Harnesses/hqcommand/HQCommandFuzz.swift runs
/// them: the first byte picks the mode (mod 4: 0 and 3 parse the rest as command JSON, 1 opens it
/// as a signed command under the fixed fuzz root key, 2 builds a valid command from it, whose JSON
/// must be accepted). Each must give a clean refusal or a command that survives its own JSON.
@Suite struct FuzzRegressionTests {
    static let inputs = FuzzInputs.of("hqcommand")

    @Test func thereAreInputsToReplay() {
        var isDirectory: ObjCBool = false
        let dir = FuzzInputs.folder("regressions", "hqcommand")
        #expect(FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(Self.inputs.count >= 5)
    }

    @Test(arguments: FuzzRegressionTests.inputs)
    func replays(input: FuzzInput) throws {
        guard let mode = input.bytes.first else { return }
        let body = Array(input.bytes.dropFirst())
        let command: HQCommand
        switch mode % 4 {
        case 2:
            let built = Self.validCommand(body)
            #expect(try HQCommand.parse(built.json) == built, "\(String(decoding: built.json, as: UTF8.self))")
            return
        case 0, 3:
            guard let parsed = try? HQCommand.parse(body) else { return }
            command = parsed
        default:
            let key = try P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x44, count: 32))
            guard
                let opened = try? HQCommand.open(
                    body, rootKey: .p256(key.publicKey), gateway: "gw-3", now: 1_800_000_030
                )
            else { return }
            command = opened
        }
        #expect(try HQCommand.parse(command.json) == command)
    }

    /// The harness's `validCommand`: a command within every documented bound, from `bytes`.
    static func validCommand(_ bytes: [UInt8]) -> HQCommand {
        var b = bytes[...]
        func byte() -> UInt8 { b.popFirst() ?? 0 }
        func text() -> String {
            let n = Int(byte() % 16)
            let s = String(decoding: b.prefix(n), as: UTF8.self)
            b = b.dropFirst(n)
            return s.isEmpty ? "x" : String(s.prefix(128))
        }
        let kind = byte() % 3
        let seconds = 0.5 * Double(1 + byte() % 60)
        let on = byte() & 1 == 1
        let issued = 1_800_000_000 + Double(UInt16(byte()) << 8 | UInt16(byte())) + (byte() & 1 == 1 ? 0.5 : 0)
        let lifetime = Double(1 + (Int(byte()) << 8 | Int(byte())) % 3600)
        let everyDoor = byte() & 1 == 1
        let id = text()
        let gateway = text()
        let door = text()
        let action: HQCommand.Action =
            switch kind {
            case 0: .unlock(door: door, seconds: seconds)
            case 1: .lockdown(door: everyDoor ? nil : door, on: on)
            default: .resync
            }
        return HQCommand(id: id, gateway: gateway, action: action, issuedAt: issued, expiresAt: issued + lifetime)
    }

    /// The finding behind regressions/hqcommand/crash-dfa2a4d0b347, stated directly: JSON numbers
    /// 0 and 1 are numbers, and only true and false are booleans.
    @Test func oneSecondUnlocksAndNumericBooleans() throws {
        let unlock = #"{"id":"c","gateway":"g","kind":"unlock","door":"L/D","seconds":1,"issued_at":1,"expires_at":2}"#
        #expect(try HQCommand.parse(Array(unlock.utf8)).action == .unlock(door: "L/D", seconds: 1))
        let boolSeconds = unlock.replacingOccurrences(of: #""seconds":1"#, with: #""seconds":true"#)
        #expect(throws: HQProtocolError.self) { try HQCommand.parse(Array(boolSeconds.utf8)) }
        for on in ["1", "0", "\"true\""] {
            let lockdown = #"{"id":"c","gateway":"g","kind":"lockdown","on":\#(on),"issued_at":1,"expires_at":2}"#
            #expect(throws: HQProtocolError.self, "on: \(on)") { try HQCommand.parse(Array(lockdown.utf8)) }
        }
    }
}
