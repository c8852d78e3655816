import Crypto

/// The CWT claims (RFC 8392) of an AG1 pass.
public struct PassClaims: Sendable, Equatable {
    /// CWT claim labels used by the AG1 profile.
    public enum Label {
        public static let iss: Int64 = 1
        public static let sub: Int64 = 2
        public static let aud: Int64 = 3
        public static let exp: Int64 = 4
        public static let nbf: Int64 = 5
        public static let iat: Int64 = 6
        public static let cti: Int64 = 7
        /// The confirmation claim (RFC 8747): `{1: COSE_Key}`, the holder's key of an AG2 credential.
        public static let cnf: Int64 = 8
        public static let bookingID: Int64 = -65537
        public static let maxUses: Int64 = -65538
    }

    /// The pass id's allowed length in bytes.
    public static let passIDLength = 8...32

    public var issuer: String
    /// The member id (`sub`).
    public var member: String
    /// Door ids (`LOC/DOOR`) or locations (`LOC`) the pass opens.
    public var audience: [String]
    public var expiresAt: Double
    public var notBefore: Double?
    public var issuedAt: Double?
    /// The pass id (`cti`).
    public var passID: [UInt8]
    public var bookingID: String?
    public var maxUses: UInt64?
    /// The holder's device key (`cnf`): set for a holder-bound credential, which AG2 proofs must
    /// be signed with.
    public var holderKey: P256.Signing.PublicKey? {
        get { holder?.key }
        set { holder = newValue.map(HolderKey.init) }
    }
    // Stored wrapped, so that the synthesized Equatable compares the key by its x963 bytes.
    private var holder: HolderKey?
    /// Writes `cnf`'s point compressed (y as its sign bit), as AG2 v2 credentials do: 33 bytes
    /// shorter. Set when a parsed credential's point was compressed.
    public var compressesHolderKey = false
    /// The credential carries no `iss`: an AG2 credential may leave it out, and its issuer is then
    /// the one whose key set verified it (``PassVerifier`` fills in ``issuer``). AG1 text may omit it
    /// only for a bound credential, which the decision then refuses for its missing proof.
    public var issuerImplied = false

    public init(
        issuer: String,
        member: String,
        audience: [String],
        expiresAt: Double,
        notBefore: Double? = nil,
        issuedAt: Double? = nil,
        passID: [UInt8],
        bookingID: String? = nil,
        maxUses: UInt64? = nil,
        holderKey: P256.Signing.PublicKey? = nil
    ) {
        self.issuer = issuer
        self.member = member
        self.audience = audience
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.issuedAt = issuedAt
        self.passID = passID
        self.bookingID = bookingID
        self.maxUses = maxUses
        self.holderKey = holderKey
    }

    /// The pass id as lowercase hex, as logs and snapshots name it.
    public var passIDHex: String { passID.hexString }

    /// Whether the pass names `door` (`LOC/DOOR`) or the location it belongs to.
    public func admits(door: String) -> Bool {
        let location = Self.location(ofDoor: door)
        return audience.contains { $0.utf8.elementsEqual(door.utf8) || $0.utf8.elementsEqual(location.utf8) }
    }

    /// The location (`LOC`) of a door id (`LOC/DOOR`); an id without `/` is its own location.
    public static func location(ofDoor door: String) -> String {
        door.split(separator: "/", maxSplits: 1).first.map(String.init) ?? door
    }
}

extension PassClaims {
    /// Parses a CWT claims map. A missing required claim, or a claim of the wrong type, throws;
    /// `iss` may be missing only with `issuerMayBeImplied` (an AG2 credential's).
    public init(cwt payload: [UInt8], issuerMayBeImplied: Bool = false) throws(AccessTokenError) {
        let value: CBORValue
        do { value = try CBORDecoder().decode(payload) } catch { throw .badClaims("payload: \(error)") }
        guard case .map(let map) = value else { throw .badClaims("payload is not a CBOR map") }

        func text(_ label: Int64, _ name: String) throws(AccessTokenError) -> String? {
            guard let v = map[label: label] else { return nil }
            guard case .text(let s) = v else { throw .badClaims("\(name) is not a text string") }
            return s
        }
        func date(_ label: Int64, _ name: String) throws(AccessTokenError) -> Double? {
            guard let v = map[label: label] else { return nil }
            switch v {
            case .unsigned, .negative:
                guard let n = v.intValue else { throw .badClaims("\(name) is out of range") }
                return Double(n)
            case .float(let d) where d.isFinite: return d
            default: throw .badClaims("\(name) is not a NumericDate")
            }
        }
        func required<T>(_ value: T?, _ name: String) throws(AccessTokenError) -> T {
            guard let value else { throw .badClaims("required claim \(name) is missing") }
            return value
        }

        if let iss = try text(Label.iss, "iss") {
            issuer = iss
        } else {
            guard issuerMayBeImplied else { throw .badClaims("required claim iss is missing") }
            issuer = ""
            issuerImplied = true
        }
        member = try required(try text(Label.sub, "sub"), "sub")
        switch try required(map[label: Label.aud], "aud") {
        case .text(let s):
            audience = [s]
        case .array(let items):
            audience = try items.map { (item: CBORValue) throws(AccessTokenError) -> String in
                guard case .text(let s) = item else { throw AccessTokenError.badClaims("aud holds a non-text entry") }
                return s
            }
        default:
            throw .badClaims("aud is neither text nor an array of text")
        }
        expiresAt = try required(try date(Label.exp, "exp"), "exp")
        notBefore = try date(Label.nbf, "nbf")
        issuedAt = try date(Label.iat, "iat")
        guard case .bytes(let cti) = try required(map[label: Label.cti], "cti") else {
            throw .badClaims("cti is not a byte string")
        }
        guard Self.passIDLength.contains(cti.count) else { throw .badClaims("cti is \(cti.count) bytes, not 8–32") }
        passID = cti
        bookingID = try text(Label.bookingID, "booking id")
        if let uses = map[label: Label.maxUses] {
            guard case .unsigned(let n) = uses else { throw .badClaims("max uses is not an unsigned integer") }
            maxUses = n
        } else {
            maxUses = nil
        }
        if let cnf = map[label: Label.cnf] {
            holder = HolderKey(key: try HolderCOSEKey.holderKey(cnf: cnf))
            compressesHolderKey = HolderCOSEKey.isCompressed(cnf: cnf)
        } else {
            holder = nil
        }
    }

    /// The claims as a CWT claims map.
    public func cwtPayload() -> [UInt8] {
        func date(_ d: Double) -> CBORValue {
            d == d.rounded() && abs(d) < 9e15 ? .int(Int64(d)) : .float(d)
        }
        var map: [CBORMapEntry] = issuerImplied ? [] : [CBORMapEntry(.int(Label.iss), .text(issuer))]
        map += [
            CBORMapEntry(.int(Label.sub), .text(member)),
            CBORMapEntry(
                .int(Label.aud),
                audience.count == 1 ? .text(audience[0]) : .array(audience.map { .text($0) })
            ),
            CBORMapEntry(.int(Label.exp), date(expiresAt)),
        ]
        if let notBefore { map.append(CBORMapEntry(.int(Label.nbf), date(notBefore))) }
        if let issuedAt { map.append(CBORMapEntry(.int(Label.iat), date(issuedAt))) }
        map.append(CBORMapEntry(.int(Label.cti), .bytes(passID)))
        if let holderKey {
            map.append(CBORMapEntry(.int(Label.cnf), HolderCOSEKey.cnf(holderKey, compressed: compressesHolderKey)))
        }
        if let bookingID { map.append(CBORMapEntry(.int(Label.bookingID), .text(bookingID))) }
        if let maxUses { map.append(CBORMapEntry(.int(Label.maxUses), .unsigned(maxUses))) }
        return CBOREncoder.encode(.map(map))
    }
}

extension Array where Element == UInt8 {
    /// Decodes hex text (either case); nil on an odd length or a non-hex character.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        self = out
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
