/// The AG1 pass profile: the QR text "AG1:" + Base45(COSE_Sign1 over a CWT claims map).
/// See docs/token.md.
public enum AG1 {
    public static let prefix = "AG1:"
    /// The longest pass text accepted, in characters.
    public static let maxTextLength = 2048
    /// The algorithms a pass may be signed with.
    public static let algorithms: Set<COSEAlgorithm> = [.es256, .edDSA, .ed25519]
}

/// A structurally valid AG1 pass, not yet verified.
public struct AG1Pass: Sendable {
    public var message: COSESign1
    public var algorithm: COSEAlgorithm
    /// The key id, if the pass names one.
    public var kid: [UInt8]?

    /// The parse failure, mapped to the reason a decision reports.
    public struct Failure: Error, Sendable {
        public var reason: AccessReason
        public var detail: String
    }

    /// Parses pass text. Every failure is `malformed`, except an algorithm outside the profile,
    /// which is `unsupported_alg`.
    public init(text: String) throws(Failure) {
        func malformed(_ detail: String) -> Failure { Failure(reason: .malformed, detail: detail) }
        guard text.utf8.count <= AG1.maxTextLength else {
            throw malformed("pass text is \(text.utf8.count) characters; the limit is \(AG1.maxTextLength)")
        }
        guard text.hasPrefix(AG1.prefix) else { throw malformed("pass text does not start with \(AG1.prefix)") }
        let body = text.utf8.dropFirst(AG1.prefix.utf8.count)
        guard !body.isEmpty else { throw malformed("pass text is empty after \(AG1.prefix)") }
        let cose: [UInt8]
        do { cose = try Base45.decode(Substring(body)) } catch { throw malformed(error.description) }
        try self.init(cose: cose)
    }

    /// Parses the COSE_Sign1 bytes of a pass, as an AG2 credential carries them. The failures are
    /// those of ``init(text:)`` after Base45.
    public init(cose: [UInt8]) throws(Failure) {
        func malformed(_ detail: String) -> Failure { Failure(reason: .malformed, detail: detail) }
        do throws(AccessTokenError) {
            // Any pass within the text limit is far smaller than this many bytes.
            let limits = CBORDecoder.Limits(maxDepth: 8, maxItems: 512, maxBytes: AG1.maxTextLength)
            let parsed = try COSESign1(cbor: cose, decoder: CBORDecoder(limits: limits))
            guard parsed.payload != nil else { throw .detachedPayload }
            try parsed.checkCritical()
            // RFC 9052 §3: a label must not sit in both buckets; the profile holds senders to it.
            if let both = parsed.protected.first(where: { parsed.unprotected[cbor: $0.key] != nil }) {
                throw .malformed("header label \(both.key) is both protected and unprotected")
            }
            message = parsed
        } catch {
            throw malformed(error.description)
        }
        do {
            algorithm = try message.algorithm(protectedOnly: true)
        } catch .missingAlgorithm {
            throw malformed(message.unprotected[label: COSEHeader.alg] == nil ? "no alg" : "alg is not protected")
        } catch {
            throw Failure(reason: .unsupportedAlg, detail: error.description)
        }
        guard AG1.algorithms.contains(algorithm) else {
            throw Failure(reason: .unsupportedAlg, detail: "\(algorithm.name) is not allowed for AG1 passes")
        }
        guard let kidValue = message.header(COSEHeader.kid) else {
            kid = nil
            return
        }
        guard case .bytes(let kid) = kidValue else { throw malformed("kid is not a byte string") }
        self.kid = kid
    }
}

/// The outcome of checking a pass: a reason, and the claims once the signature has verified.
public struct PassVerdict: Sendable {
    public var reason: AccessReason
    /// A human-readable explanation for logs and `gatewayctl`.
    public var detail: String
    /// Set only when the signature verified: unauthenticated claims are never reported.
    public var claims: PassClaims?
    public var kid: String?
    public var algorithm: COSEAlgorithm?

    public var granted: Bool { reason == .granted }
}

/// Verifies AG1 passes offline against a key set, an issuer and a door.
///
/// Checks run in this order, and the first failure is the reason:
/// 1. text, Base45, CBOR and COSE structure, `crit` → `malformed`
/// 2. `alg` in the profile → `unsupported_alg`
/// 3. `kid` present and in the key set → `unknown_key`
/// 4. a key with that `kid` accepts `alg` → `unsupported_alg`
/// 5. signature → `bad_signature`
/// 6. claims present and well-typed → `malformed`
/// 7. `iat` inside the key's `nbf`/`exp` window → `unknown_key`
/// 8. `iss` → `wrong_issuer`
/// 9. `exp` (with skew) → `expired`
/// 10. `nbf` (with skew) → `not_yet_valid`
/// 11. `aud` names the door or its location → `wrong_door`
public struct PassVerifier: Sendable {
    public var keys: PassKeySet
    public var issuer: String
    /// Allowed clock difference, in seconds, for `exp` and `nbf`.
    public var skew: Double

    public init(keys: PassKeySet, issuer: String, skew: Double = 60) {
        self.keys = keys
        self.issuer = issuer
        self.skew = skew
    }

    /// Decides on pass `text` at door `door` (`LOC/DOOR`) with the clock at `now` (UNIX seconds).
    public func verify(_ text: String, door: String, now: Double) -> PassVerdict {
        let pass: AG1Pass
        do { pass = try AG1Pass(text: text) } catch {
            return PassVerdict(reason: error.reason, detail: error.detail)
        }
        return verify(pass, door: door, now: now)
    }

    /// Decides on an AG1 credential given as COSE_Sign1 bytes (the first half of an AG2 pass),
    /// with the same checks as the text form after Base45. The verdict's claims carry `holderKey`.
    /// An AG2 credential may leave out `iss` (``PassClaims/issuerImplied``): its issuer is then
    /// this verifier's, whose key set alone can have signed it (a pass-signing key belongs to one
    /// issuer). As AG1 text, only a bound credential (with `cnf`) may, so that the decision can
    /// name it when it refuses it for its missing proof.
    public func verify(credential bytes: [UInt8], door: String, now: Double) -> PassVerdict {
        let pass: AG1Pass
        do { pass = try AG1Pass(cose: bytes) } catch {
            return PassVerdict(reason: error.reason, detail: error.detail)
        }
        return verify(pass, door: door, now: now, issuerMayBeImplied: true)
    }

    public func verify(_ pass: AG1Pass, door: String, now: Double) -> PassVerdict {
        verify(pass, door: door, now: now, issuerMayBeImplied: false)
    }

    func verify(_ pass: AG1Pass, door: String, now: Double, issuerMayBeImplied: Bool) -> PassVerdict {
        var verdict = PassVerdict(reason: .granted, detail: "granted", algorithm: pass.algorithm)
        func deny(_ reason: AccessReason, _ detail: String) -> PassVerdict {
            verdict.reason = reason
            verdict.detail = detail
            return verdict
        }
        guard let kidBytes = pass.kid else { return deny(.unknownKey, "the pass names no kid") }
        guard let kid = String(validating: kidBytes, as: UTF8.self) else {
            return deny(.unknownKey, "the kid is not UTF-8")
        }
        verdict.kid = kid
        let named = keys.keys(withID: kid)
        guard !named.isEmpty else { return deny(.unknownKey, "no key with kid \"\(kid)\"") }
        let fitting = named.filter { $0.accepts(pass.algorithm) }
        guard !fitting.isEmpty else {
            return deny(.unsupportedAlg, "key \"\(kid)\" does not accept \(pass.algorithm.name)")
        }
        let tbs: [UInt8]
        do { tbs = try pass.message.toBeSigned() } catch { return deny(.malformed, error.description) }
        let signers = fitting.filter { candidate in
            guard let key = candidate.key else { return false }
            return (try? key.verify(pass.message.signature, over: tbs, alg: pass.algorithm)) != nil
        }
        guard !signers.isEmpty else { return deny(.badSignature, "the signature does not verify with key \"\(kid)\"") }

        var claims: PassClaims
        do { claims = try PassClaims(cwt: pass.message.payload ?? [], issuerMayBeImplied: true) } catch {
            return deny(.malformed, error.description)
        }
        // Only an AG2 credential may leave out iss. A bound one shown as a static pass keeps its
        // claims: the decision then reports proof_invalid, naming the member and the pass.
        if claims.issuerImplied && !issuerMayBeImplied && claims.holderKey == nil {
            return deny(.malformed, "required claim iss is missing")
        }
        if claims.issuerImplied { claims.issuer = issuer }
        verdict.claims = claims
        guard signers.contains(where: { $0.covers(issuedAt: claims.issuedAt) }) else {
            return deny(.unknownKey, "key \"\(kid)\" was not valid when the pass was issued")
        }
        guard claims.issuer.utf8.elementsEqual(issuer.utf8) else {
            return deny(.wrongIssuer, "issuer \"\(claims.issuer)\" is not \"\(issuer)\"")
        }
        guard now < claims.expiresAt + skew else { return deny(.expired, "expired at \(claims.expiresAt)") }
        if let nbf = claims.notBefore, now < nbf - skew { return deny(.notYetValid, "valid from \(nbf)") }
        guard claims.admits(door: door) else {
            return deny(.wrongDoor, "the pass is for \(claims.audience.joined(separator: ", ")), not \(door)")
        }
        return verdict
    }
}

/// Issues AG1 passes from a private key.
public struct PassIssuer: Sendable {
    public var key: SigningKey
    public var kid: String
    public var algorithm: COSEAlgorithm
    /// Put the kid in the unprotected header instead of the protected one.
    public var kidUnprotected = false

    public init(key: SigningKey, kid: String, algorithm: COSEAlgorithm? = nil) {
        self.key = key
        self.kid = kid
        self.algorithm = algorithm ?? key.defaultAlgorithm
    }

    /// Signs `claims` and returns the QR text.
    public func issue(_ claims: PassClaims) throws(AccessTokenError) -> String {
        let text = AG1.prefix + Base45.encode(try sign(claims))
        guard text.utf8.count <= AG1.maxTextLength else {
            throw .malformed("the pass would be \(text.utf8.count) characters; the limit is \(AG1.maxTextLength)")
        }
        return text
    }

    /// Signs `claims` and returns the credential's COSE_Sign1 bytes (tag 18), for an AG2 pass;
    /// `claims.holderKey` becomes its `cnf`. The algorithm must fit the key: ``issue(_:)`` reports
    /// a mismatch as an error, this traps.
    public func issueCredential(_ claims: PassClaims) -> [UInt8] {
        do { return try sign(claims) } catch { preconditionFailure("PassIssuer: \(error)") }
    }

    /// ``issueCredential(_:)`` for an AG2 v2 pass: the `cnf` point compressed and no `iss` (the
    /// gateway's key set names the issuer), 50 bytes shorter for a 15-byte issuer. Tag 18 stays:
    /// python `cwt` reads a COSE message only by its tag.
    public func issueCompactCredential(_ claims: PassClaims) -> [UInt8] {
        var compact = claims
        compact.compressesHolderKey = true
        compact.issuerImplied = true
        return issueCredential(compact)
    }

    private func sign(_ claims: PassClaims) throws(AccessTokenError) -> [UInt8] {
        guard key.publicKey.fits(algorithm) else { throw .keyMismatch("\(algorithm.name) with this key") }
        let kidEntry = CBORMapEntry(.int(COSEHeader.kid), .bytes(Array(kid.utf8)))
        var protected = [CBORMapEntry(.int(COSEHeader.alg), .int(algorithm.rawValue))]
        if !kidUnprotected { protected.append(kidEntry) }
        var message = COSESign1(
            protected: protected,
            unprotected: kidUnprotected ? [kidEntry] : [],
            payload: claims.cwtPayload()
        )
        try message.sign(with: key)
        return message.encoded()
    }
}
