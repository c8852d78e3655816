import AccessToken
import ArgumentParser
import Foundation

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Verify, issue and key AG1 passes.",
        subcommands: [Verify.self, Issue.self, Keygen.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide on an AG1 pass, offline.",
            discussion: "Prints one JSON object. Exit status 0 when granted, 1 when denied, 2 on a usage error."
        )

        @Option(help: "The JWKS file of pass-signing keys.")
        var keys: String

        @Option(help: "The door id, LOC/DOOR.")
        var door: String

        @Option(help: "The issuer passes must name.")
        var issuer: String

        @Option(help: "The clock, in UNIX seconds (default: now).")
        var at: Double?

        @Option(help: "Allowed clock skew in seconds.")
        var skew: Double = 60

        @Argument(help: "The pass text, or - to read it from standard input.")
        var text: String

        func validate() throws {
            guard skew >= 0 && skew <= 86400 else { throw ValidationError("--skew must be 0–86400 seconds") }
            if let at, !at.isFinite || at < 0 { throw ValidationError("--at must be UNIX seconds") }
            guard door.split(separator: "/").count == 2 else { throw ValidationError("--door must be LOC/DOOR") }
        }

        func run() throws {
            let keySet: PassKeySet
            do { keySet = try PassKeySet(jwks: try readFile(keys)) } catch let error as AccessTokenError {
                throw UsageFailure("\(keys): \(error)")
            }
            let pass = text == "-" ? readStandardInputLine() : text
            let verifier = PassVerifier(keys: keySet, issuer: issuer, skew: skew)
            let verdict = verifier.verify(pass, door: door, now: at ?? Date().timeIntervalSince1970)
            let claims = verdict.claims
            printJSONLine([
                "granted": verdict.granted, "reason": verdict.reason.rawValue, "member": claims?.member,
                "pass": claims?.passIDHex, "booking": claims?.bookingID, "max_uses": claims?.maxUses,
                "kid": verdict.kid, "alg": verdict.algorithm?.name, "expires": claims?.expiresAt,
                "detail": verdict.detail,
            ])
            if !verdict.granted { throw ExitCode(1) }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue an AG1 pass from a private JWK and print its text."
        )

        @Option(help: "The private JWK file (EC P-256 or OKP Ed25519).")
        var key: String

        @Option(help: "The issuer name.")
        var issuer: String

        @Option(help: "The member id.")
        var member: String

        @Option(help: "A door (LOC/DOOR) or location (LOC) the pass opens; repeat for several.")
        var door: [String]

        @Option(help: "Start of validity, UNIX seconds.")
        var validFrom: Int64

        @Option(help: "End of validity, UNIX seconds.")
        var validUntil: Int64

        @Option(help: "The booking id.")
        var booking: String?

        @Option(help: "How many times the pass may be used.")
        var uses: UInt64?

        @Option(help: "Algorithm: ES256 for EC keys; EdDSA (default) or Ed25519 for Ed25519 keys.")
        var alg: String?

        @Option(help: "The pass id as hex, 8–32 bytes (default: 16 random bytes).")
        var passID: String?

        func validate() throws {
            guard validUntil > validFrom else { throw ValidationError("--valid-until must be after --valid-from") }
            if let uses, uses == 0 { throw ValidationError("--uses must be at least 1") }
            if let passID {
                guard let bytes = [UInt8](hex: passID), PassClaims.passIDLength.contains(bytes.count) else {
                    throw ValidationError("--pass-id must be 8–32 bytes of hex")
                }
            }
            if let alg, COSEAlgorithm.allCases.first(where: { $0.name == alg }) == nil {
                throw ValidationError("--alg must be ES256, EdDSA or Ed25519")
            }
        }

        func run() throws {
            let loaded: (key: SigningKey, kid: String)
            do { loaded = try SigningKey.fromJWK(try readFile(key)) } catch let error as AccessTokenError {
                throw UsageFailure("\(key): \(error)")
            }
            let algorithm = alg.flatMap { name in COSEAlgorithm.allCases.first { $0.name == name } }
            var random = SystemRandomNumberGenerator()
            let claims = PassClaims(
                issuer: issuer,
                member: member,
                audience: door,
                expiresAt: Double(validUntil),
                notBefore: Double(validFrom),
                issuedAt: Date().timeIntervalSince1970.rounded(.down),
                passID: passID.flatMap { [UInt8](hex: $0) } ?? (0..<16).map { _ in random.next() },
                bookingID: booking,
                maxUses: uses
            )
            do {
                print(try PassIssuer(key: loaded.key, kid: loaded.kid, algorithm: algorithm).issue(claims))
            } catch {
                throw UsageFailure("cannot issue: \(error)")
            }
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a pass-signing key: writes the private JWK, prints the public JWKS."
        )

        @Option(help: "ES256 (P-256) or EdDSA (Ed25519).")
        var alg: String = "ES256"

        @Option(help: "The key id.")
        var kid: String

        @Option(help: "Where to write the private JWK (created with mode 0600).")
        var privateKey: String

        func validate() throws {
            guard alg == "ES256" || alg == "EdDSA" else { throw ValidationError("--alg must be ES256 or EdDSA") }
        }

        func run() throws {
            let key = SigningKey.generate(alg == "ES256" ? .es256 : .edDSA)
            let privateJSON = try JSONSerialization.data(withJSONObject: key.privateJWK(kid: kid), options: .sortedKeys)
            guard
                FileManager.default.createFile(
                    atPath: privateKey,
                    contents: privateJSON,
                    attributes: [.posixPermissions: 0o600]
                )
            else { throw UsageFailure("cannot write \(privateKey)") }
            let jwks = ["keys": [key.publicJWK(kid: kid)]]
            let data = try JSONSerialization.data(
                withJSONObject: jwks,
                options: [.sortedKeys, .withoutEscapingSlashes]
            )
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
