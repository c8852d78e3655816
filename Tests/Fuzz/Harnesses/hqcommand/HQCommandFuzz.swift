// libFuzzer target `hqcommand`: HQ's signed commands (HQCommand and SignedDocument of HQProtocol).
//
// The first byte picks the entry point (its value mod 4), the rest is its input:
// - 0, 3: HQCommand.parse(json), the command JSON;
// - 1:    HQCommand.open(signed, rootKey:, gateway:, now:), the COSE_Sign1 as it arrives: structure,
//         the pinned root key's signature, content type, then the JSON as above and the checks on
//         gateway and time. Seeds signed with the fixed fuzz root key reach the JSON.
// - 2:    a valid command built from the bytes (kind, seconds in 0.5 s steps up to 30, times, ids),
//         as HQ makes one: the gateway must accept its `json`.
// A parsed command must parse again from its own `json` to the same command.
import AccessToken
import Crypto
import Foundation
import FuzzSupport
import HQProtocol

enum FuzzRoot {
    static let key = try! P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x44, count: 32))
    static let gateway = "gw-3"
    static let now = 1_800_000_030.0
}

@main enum HQCommandFuzz {
    static func main() {
        emitSeedsIfAsked(emitSeeds)
        runFuzzer(fuzzHQCommand)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHQCommand(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let command: HQCommand
    switch data[0] % 4 {
    case 2:
        command = validCommand(body)
        guard let parsed = try? HQCommand.parse(command.json) else {
            fuzzCheck(false, "a valid command is refused: \(String(decoding: command.json, as: UTF8.self))")
            return 0
        }
        fuzzCheck(parsed == command, "a valid command changed through its json")
        return 0
    case 0, 3:
        guard let parsed = try? HQCommand.parse(body) else { return 0 }
        command = parsed
    default:
        let root = VerificationKey.p256(FuzzRoot.key.publicKey)
        guard let opened = try? HQCommand.open(body, rootKey: root, gateway: FuzzRoot.gateway, now: FuzzRoot.now)
        else { return 0 }
        command = opened
    }
    guard let again = try? HQCommand.parse(command.json) else {
        fuzzCheck(false, "a parsed command does not parse from its own json")
        return 0
    }
    fuzzCheck(again == command, "a command changed through its json")
    return 0
}

/// A command within every documented bound, its fields taken from `bytes`.
func validCommand(_ bytes: [UInt8]) -> HQCommand {
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
    let id = text(), gateway = text(), door = text()
    let action: HQCommand.Action =
        switch kind {
        case 0: .unlock(door: door, seconds: seconds)
        case 1: .lockdown(door: everyDoor ? nil : door, on: on)
        default: .resync
        }
    return HQCommand(id: id, gateway: gateway, action: action, issuedAt: issued, expiresAt: issued + lifetime)
}

/// Commands from docs/hq-protocol.md, plain (mode 0) and signed with the fuzz root key (mode 1).
func emitSeeds(to dir: URL) throws {
    let commands = [
        #"{"id": "c-12", "gateway": "gw-3", "kind": "unlock", "door": "JKT1/FRONT", "seconds": 5, "issued_at": 1800000000, "expires_at": 1800000060}"#,
        #"{"id": "c-13", "gateway": "gw-3", "kind": "lockdown", "on": true, "issued_at": 1800000000, "expires_at": 1800000060}"#,
        #"{"id": "c-14", "gateway": "gw-3", "kind": "lockdown", "on": false, "door": "JKT1/FRONT", "issued_at": 1800000000.5, "expires_at": 1800003600}"#,
        #"{"id": "c-15", "gateway": "gw-3", "kind": "resync", "issued_at": 1800000000, "expires_at": 1800000060}"#,
        #"{"id":"c-16","gateway":"gw-3","kind":"unlock","door":"JKT1/\u0046RONT","seconds":30.0,"issued_at":1.8e9,"expires_at":1800000001}"#,
    ]
    for (i, json) in commands.enumerated() {
        try writeSeed([0] + Array(json.utf8), "command-\(i)", to: dir)
        let es256 = try SignedDocument.sign(Array(json.utf8), with: .p256(FuzzRoot.key), kid: "hq-root")
        try writeSeed([1] + es256, "signed-\(i)", to: dir)
    }
    // Built commands (mode 2): an unlock of 5 s, a lockdown of one door.
    let fields: [(UInt8, String)] = [(0, "unlock"), (1, "lockdown")]
    for (kind, name) in fields {
        let head: [UInt8] = [2, kind, 9, 1, 0x12, 0x34, 0, 0, 60, 0]
        let texts = ["c-20", "gw-3", "JKT1/FRONT"].flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
        try writeSeed(head + texts, "built-\(name)", to: dir)
    }
    // Signed by another key: refused at the signature.
    let other = try SignedDocument.sign(Array(commands[0].utf8), with: .generate(.edDSA), kid: "other")
    try writeSeed([1] + other, "signed-other-key", to: dir)
}
