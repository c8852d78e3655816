import HQSync
import KeyCache

extension Doctor {
    /// One cheap signed request: the snapshot, conditional on the one held, so HQ answers 304.
    public func checkHQ(_ config: GatewayConfig, _ store: GatewayStore) async -> DoctorCheck {
        let enrolment: EnrolmentRecord
        do {
            guard let stored = try EnrolmentRecord.load(from: store) else {
                return .warn(
                    "hq",
                    "not enrolled with HQ: this gateway decides on imported snapshots only",
                    fix: "\(Self.ctl(config))provision --hq URL --code CODE"
                )
            }
            enrolment = stored
        } catch {
            return .fail("hq", "\(error)", fix: "see the database check")
        }
        let reprovision = "ask HQ for a new code, then `\(Self.ctl(config))provision --hq \(enrolment.hq) --code CODE`"
        if (try? store.stateValues([.hqRevoked]))?[.hqRevoked] == "1" {
            return .fail("hq", "HQ revoked this gateway (\(enrolment.gatewayID)); it decides offline", fix: reprovision)
        }
        do throws(HQSyncError) {
            let identity = try DeviceIdentity.load(path: config.deviceKey, create: false)
            let client = HQClient(location: enrolment.hq, identity: identity, timeout: .seconds(10))
            let token = try identity.token(
                subject: enrolment.gatewayID,
                audience: enrolment.issuer,
                now: environment.now()
            )
            let seq: Int64?
            let etag: String?
            do {
                seq = try store.snapshotInfo()?.seq
                etag = try store.stateValues([.snapshotEtag])[.snapshotEtag]
            } catch { throw HQSyncError.store("\(error)") }
            let reply = try await client.snapshot(token: token, since: seq, etag: seq == nil ? nil : etag)
            let news = reply == .unchanged ? "snapshot unchanged" : "a newer snapshot is waiting for the next sync"
            return .ok("hq", "\(enrolment.hq) answered as \(enrolment.gatewayID): \(news)")
        } catch {
            let fix: String
            switch error {
            case .deviceKey:
                fix =
                    "check gateway.device_key (\(config.deviceKey)): mode 0600, owned by the service; or " + reprovision
            case .unreachable:
                fix = "check the network, DNS and firewall towards \(enrolment.hq) (`curl -sI \(enrolment.hq)`)"
            case .tls:
                fix = "check the board's clock, its CA certificates (`ca-certificates`) and the HQ URL's host name"
            case .unauthorised, .revoked: fix = "HQ no longer accepts this gateway's key: " + reprovision
            default: fix = "`\(Self.ctl(config))sync now` shows the whole exchange"
            }
            return .fail("hq", "\(error)", fix: fix)
        }
    }
}
