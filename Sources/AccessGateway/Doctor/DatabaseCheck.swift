import Foundation
import KeyCache

extension Doctor {
    enum StoreOpening {
        case opened(GatewayStore)
        case failed(DoctorCheck)
    }

    /// The store, or the database check's failure: a missing directory and a missing file differ.
    func openStore(_ config: GatewayConfig) -> StoreOpening {
        let directory = URL(fileURLWithPath: config.database).deletingLastPathComponent().path
        let fix: String
        if !FileManager.default.fileExists(atPath: directory) {
            fix = "create \(directory), owned by the service's user (the package does), or correct gateway.db"
        } else if !FileManager.default.fileExists(atPath: config.database) {
            fix =
                "provision (`\(Self.ctl(config))provision --hq URL --code CODE`), "
                + "or `\(Self.ctl(config))snapshot import FILE`"
        } else {
            fix = "check the file's owner and mode: run doctor as the service's user or as root"
        }
        do { return .opened(try GatewayStore(path: config.database, create: false)) } catch {
            return .failed(.fail("database", "\(error)", fix: fix))
        }
    }

    /// SQLite's own integrity check, then the audit chain, event by event.
    public func checkDatabase(_ store: GatewayStore) -> DoctorCheck {
        do {
            let integrity = try store.integrityCheck()
            guard integrity == "ok" else {
                let problems = integrity.split(separator: "\n").prefix(3).joined(separator: "; ")
                return .fail(
                    "database",
                    "\(store.path): integrity_check: \(problems)",
                    fix: "stop the service, copy the file aside, then `sqlite3 \(store.path) .recover`, "
                        + "or restore a backup"
                )
            }
            switch try store.verifyAuditChain() {
            case .intact(let events):
                return .ok("database", "\(store.path): integrity ok, audit chain intact (\(events) events)")
            case .broken(let seq, let why):
                return .fail(
                    "database",
                    "\(store.path): the audit chain breaks at seq \(seq): \(why)",
                    fix: "the log was changed outside the gateway: keep the file for investigation "
                        + "(`gatewayctl --db \(store.path) log verify`, scripts/audit_verify.py)"
                )
            }
        } catch {
            return .fail(
                "database",
                "\(store.path): \(error)",
                fix: "check the file's owner and mode; the service must be able to write it"
            )
        }
    }
}
