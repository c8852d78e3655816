/// A scanned code's text, read once for everything that looks at it: the rate limiter's key and
/// the decision's verification. Reading checks the structure only, never a signature.
public struct ScannedPass: Sendable {
    /// What the text is.
    public enum Kind: Sendable {
        /// An AG1 pass, or text that is no pass at all (its read fails as AG1's does: `malformed`).
        case ag1
        /// An AG2 code: an AG1 credential and the holder's proof.
        case ag2(AG2Code)
        /// Text with the AG2 prefix that does not parse as AG2; the decision reports it `malformed`.
        case unreadableAG2(AccessTokenError)
    }

    public let text: String
    public let kind: Kind
    /// The AG1 pass: the text's, or an AG2 code's credential. A failure carries the reason the
    /// decision reports; nil only for ``Kind/unreadableAG2(_:)``.
    public let pass: Result<AG1Pass, AG1Pass.Failure>?

    /// Reads `text`: the prefix picks the profile, once.
    public init(text: String) {
        self.text = text
        guard text.hasPrefix(HolderBoundPass.prefix) else {
            kind = .ag1
            pass = Result { () throws(AG1Pass.Failure) in try AG1Pass(text: text) }
            return
        }
        do throws(AccessTokenError) {
            let code = try AG2Code.parse(text)
            kind = .ag2(code)
            pass = Result { () throws(AG1Pass.Failure) in try AG1Pass(cose: code.credential) }
        } catch {
            kind = .unreadableAG2(error)
            pass = nil
        }
    }

    /// The AG2 code, when the text is one.
    public var holderBound: AG2Code? {
        guard case .ag2(let code) = kind else { return nil }
        return code
    }

    /// The bytes a pass's signature covers: an AG1 pass's COSE payload, or an AG2 credential's
    /// (its proof changes every few seconds). Nil for anything that does not read as a pass.
    public var signedPayload: [UInt8]? {
        guard case .success(let pass)? = pass else { return nil }
        return pass.message.payload
    }
}

extension PassVerifier {
    /// Verifies a scanned pass: an AG1 pass, or an AG2 code's credential, with the same checks as
    /// ``verify(_:door:now:)-(String,_,_)`` and ``verify(credential:door:now:)``. The AG2 proof is
    /// not checked here: it is the holder check's. An unreadable AG2 code is `malformed`.
    public func verify(_ scanned: ScannedPass, door: String, now: Double) -> PassVerdict {
        switch (scanned.kind, scanned.pass) {
        case (.unreadableAG2(let error), _): return PassVerdict(reason: .malformed, detail: "\(error)")
        case (_, .failure(let failure)?): return PassVerdict(reason: failure.reason, detail: failure.detail)
        case (.ag2, .success(let credential)?):
            return verify(credential, door: door, now: now, issuerMayBeImplied: true)
        case (_, .success(let pass)?): return verify(pass, door: door, now: now)
        case (_, nil): return PassVerdict(reason: .malformed, detail: "the code is not a pass")
        }
    }
}
