/// One finding of `gatewayctl doctor`: what was checked, how it went, and what to do about it.
public struct DoctorCheck: Sendable, Codable, Equatable {
    /// How a check went: `fail` makes `gatewayctl doctor` exit 1, `warn` does not.
    public enum Status: String, Sendable, Codable {
        case ok, warn, fail
    }

    /// The item checked: config, camera, gpio, clock, hq, snapshot, disk, database or service.
    public var name: String
    /// How it went.
    public var status: Status
    /// What was found, naming the key, device, line or file concerned.
    public var detail: String
    /// What to do about a warning or failure.
    public var fix: String?

    /// A finding; `fix` is for a warning or a failure.
    public init(name: String, status: Status, detail: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix
    }

    static func ok(_ name: String, _ detail: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .ok, detail: detail)
    }

    static func warn(_ name: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .warn, detail: detail, fix: fix)
    }

    static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .fail, detail: detail, fix: fix)
    }
}

/// What `gatewayctl doctor --json` prints.
public struct DoctorReport: Sendable, Codable, Equatable {
    /// True when no check failed (warnings allowed).
    public var ok: Bool
    /// Every check, in the order they ran.
    public var checks: [DoctorCheck]

    /// The report on `checks`; ``ok`` follows from them.
    public init(checks: [DoctorCheck]) {
        self.checks = checks
        ok = !checks.contains { $0.status == .fail }
    }
}
