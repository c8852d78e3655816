import AccessToken
import AsyncHTTPClient
import Foundation
import HQSync
import KeyCache
import NIOSSL
import TestSupport
import Testing

/// A seed file made by `access-hq-dev site`, in a fresh folder.
func generatedSite(members: Int, bookings: Int, revoked: Int, doors: Int) throws -> URL {
    let file = try TestPaths.temporaryDirectory().appendingPathComponent("site.json")
    let result = try run(
        ReferenceHQ.binary,
        ["site", "--members", "\(members)", "--bookings", "\(bookings)", "--revoked", "\(revoked)", "--doors", "\(doors)"]
    )
    guard result.status == 0 else { throw ReferenceHQFailure("access-hq-dev site: \(result.stderr)") }
    try Data(result.stdout.utf8).write(to: file)
    return file
}

/// Polls `condition` every 100 ms for up to `seconds`.
func eventually(_ seconds: Double, _ condition: () throws -> Bool) async throws -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try condition()
}

/// A gateway's sync pointed at another URL (a proxy in front of HQ), with the same key and store.
func pointed(_ sync: GatewaySync, at url: String, keyPath: String, limits: TransferLimits = TransferLimits()) throws
    -> GatewaySync
{
    var record = sync.enrolment
    record.hq = try HQLocation(url)
    return try GatewaySync(
        store: sync.store,
        enrolment: record,
        identity: try DeviceIdentity.load(path: keyPath, create: false),
        clock: ClockTrust(),
        limits: limits
    )
}

/// A site of a real size through the signed HQ path (issue 15): the chunked snapshot, deltas on
/// top of it, resume, recovery from a refused delta, and the transfer limits.
@Suite(.serialized) struct SiteScaleTests {
    func now() -> Double { Date().timeIntervalSince1970 }

    @Test func aRealisticSiteGoesFromHQThroughProvisionAndTheSnapshotLoopToTheDoor() async throws {
        try await offThePool {
            let seed = try generatedSite(members: 20_000, bookings: 200_000, revoked: 20_000, doors: 40)
            let hq = try ReferenceHQ(seedFile: seed)
            let db = try provisionedByCLI(hq, doors: ["SITE1/DOOR1"], name: "site")
            let store = try GatewayStore(path: db)
            let info = try #require(try store.snapshotInfo())
            let counts: [Int] = [info.members, info.bookings, info.revoked, info.doors]
            let expected: [Int] = [20_000, 200_000, 20_000, 40]
            #expect(counts == expected, "\(info)")

            let pass = try hq.admin("pass", "--member", "member-1", "--door", "SITE1/DOOR1")
            let decider = AccessDecider(store: store)
            let before = try decider.decide(pass, door: "SITE1/DOOR1", now: now())
            #expect(before.reason == .granted)
            let passID = try #require(before.pass)

            // HQ revokes the pass: the same site with one more revocation, as the next version.
            var text = try String(contentsOf: seed, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(text.hasSuffix("]}"))
            text = String(text.dropLast(2)) + ",{\"pass\":\"\(passID)\",\"until\":\(Int(now()) + 86400)}]}"
            let revised = seed.deletingLastPathComponent().appendingPathComponent("revised.json")
            try Data(text.utf8).write(to: revised)
            _ = try hq.admin("snapshot", "--seed", revised.path)

            // The daemon's snapshot loop takes it, as a delta on top of seq 1.
            let sync = try GatewaySync(
                store: store,
                enrolment: try #require(try EnrolmentRecord.load(from: store)),
                identity: try DeviceIdentity.load(
                    path: URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("device-key.pem").path,
                    create: false
                ),
                clock: ClockTrust()
            )
            let loop = Task(executorPreference: DispatchTaskExecutor()) { await sync.runSnapshotLoop(every: .seconds(1)) }
            defer { loop.cancel() }
            #expect(try await eventually(120) { try store.snapshotHeader()?.seq == 2 }, "\(sync.status)")
            #expect(sync.status.lastTransfer == nil, "a delta, not a second full transfer")
            #expect(try store.snapshotInfo()?.revoked == 20_001)
            #expect(try decider.decide(pass, door: "SITE1/DOOR1", now: now()).reason == .revoked)
        }
    }

    @Test func aTransferCutHalfwayResumesAtTheNextChunkAndSendsNoChunkTwice() async throws {
        // 12 chunks: members, ten of bookings, revocations.
        let seed = try generatedSite(members: 2_000, bookings: 50_000, revoked: 1_000, doors: 2)
        let hq = try ReferenceHQ(seedFile: seed)
        let gateway = try GatewayRig()
        let sync = try await gateway.enrol(hq)
        let cutter = try BadHQ("cutchunks", [hq.url, "6"])
        let cut = try pointed(sync, at: "http://127.0.0.1:\(cutter.port)", keyPath: gateway.keyPath)
        await #expect(throws: HQSyncError.self) { try await cut.pullSnapshot() }
        #expect(cutter.log.contains("CUT"))
        let first = try #require(cut.status.lastTransfer)
        #expect(first.fetched == 6 && first.chunks == 12)
        #expect(try gateway.store.snapshotHeader() == nil, "nothing is live before the last chunk")

        let resumed = try pointed(sync, at: hq.url, keyPath: gateway.keyPath)
        guard case .applied = try await resumed.pullSnapshot() else {
            Issue.record("the resumed transfer did not apply")
            return
        }
        let second = try #require(resumed.status.lastTransfer)
        #expect(second.resumedAt == 6 && second.fetched == 6)
        // Every chunk crossed the wire whole once: only the half chunk cut off was sent again.
        #expect(first.wireBytes + second.wireBytes == second.totalWireBytes)
        let info = try #require(try gateway.store.snapshotInfo())
        let counts: [Int] = [info.members, info.bookings, info.revoked]
        let expected: [Int] = [2_000, 50_000, 1_000]
        #expect(counts == expected)
        #expect(second.rawBytes > 3 * second.wireBytes, "chunks travel gzipped")
    }

    @Test func aRefusedDeltaIsRecordedLoudlyAndAFullSnapshotRecovers() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let gateway = try GatewayRig()
        let sync = try await gateway.enrol(hq)
        #expect(try await sync.pullSnapshot() == .applied(seq: 1))
        _ = try hq.admin("snapshot", "--seed", hq.seedPath)
        let spoiler = try BadHQ("baddelta", [hq.url])
        let board = try pointed(sync, at: "http://127.0.0.1:\(spoiler.port)", keyPath: gateway.keyPath)
        #expect(try await board.pullSnapshot() == .applied(seq: 2))
        let reasons = try gateway.store.auditEvents(.init()).map(\.reason).filter { $0.hasPrefix("snapshot_") }
        #expect(reasons.suffix(2) == ["snapshot_refused", "snapshot_applied"])
        let state = try gateway.store.stateValues([.snapshotRefused, .snapshotRefusals])
        #expect(state[.snapshotRefusals] == "1" && state[.snapshotRefused] == "")
        #expect(board.status.lastRefusal == nil)
        // Asked once with since (the spoiled delta), then once for the full snapshot.
        let asked = spoiler.requests.filter { $0.path == "/v1/snapshot" }
        #expect(asked.count == 2)
    }

    @Test func aDocumentRefusedEvenInFullLeavesTheBoardSayingSo() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let gateway = try GatewayRig()
        let sync = try await gateway.enrol(hq)
        var limits = TransferLimits()
        limits.records = 1
        let board = try pointed(sync, at: hq.url, keyPath: gateway.keyPath, limits: limits)
        await #expect(throws: HQSyncError.self) { try await board.pullSnapshot() }
        #expect(board.status.lastRefusal?.contains("records") == true)
        let refused = try #require(try gateway.store.stateValues([.snapshotRefused])[.snapshotRefused])
        #expect(refused.contains("transfer limit records"))
    }

    /// Each limit, hit once against the reference HQ's answer for the two-member site.
    @Test(arguments: [
        ("signed_document_bytes", "transfer limit signed_document_bytes is 100, HQ sent ", "HQ should send a chunked"),
        ("chunk_bytes", "transfer limit chunk_bytes is 10, HQ sent ", "HQ must split its snapshot"),
        ("chunk_inflated_bytes", "transfer limit chunk_inflated_bytes is 10, HQ sent more", "HQ must split"),
        ("chunks", "transfer limit chunks is 0, HQ sent 1", "HQ must split its snapshot"),
        ("records", "transfer limit records is 1, HQ sent 2", "larger than one gateway holds"),
    ])
    func eachLimitHitSaysWhichLimitWhatCameAndWhatToDo(limit: String, text: String, advice: String) async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let gateway = try GatewayRig()
        let sync = try await gateway.enrol(hq)
        var limits = TransferLimits()
        switch limit {
        case "signed_document_bytes": limits.signedDocumentBytes = 100
        case "chunk_bytes": limits.chunkBytes = 10
        case "chunk_inflated_bytes": limits.chunkInflatedBytes = 10
        case "chunks": limits.chunks = 0
        default: limits.records = 1
        }
        let board = try pointed(sync, at: hq.url, keyPath: gateway.keyPath, limits: limits)
        do {
            _ = try await board.pullSnapshot()
            Issue.record("the \(limit) limit was not hit")
        } catch {
            guard case .limitExceeded(let name, _, _) = error else {
                Issue.record("not a limit error: \(error)")
                return
            }
            #expect(name == limit)
            #expect("\(error)".hasPrefix(text) && "\(error)".contains(advice), "\(error)")
        }
        let event = try #require(try gateway.store.auditEvents(.init()).last { $0.reason == "snapshot_refused" })
        #expect(event.detail.contains("\"limit\":\"\(limit)\""), "\(event.detail)")
        #expect(try gateway.store.snapshotHeader() == nil)
    }

    @Test func aRedirectIsRefusedAtEnrolmentAndOnSnapshots() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let redirector = try BadHQ("redirect", [hq.url])
        let gateway = try GatewayRig()
        let code = try hq.code(doors: ["JKT1/FRONT"])
        do {
            _ = try await GatewaySync.provision(
                store: gateway.store,
                keyPath: gateway.keyPath,
                hq: try HQLocation("http://127.0.0.1:\(redirector.port)"),
                code: code,
                name: "redirected",
                clock: ClockTrust()
            )
            Issue.record("an enrolment through a redirect was followed")
        } catch {
            guard case .redirected(let why) = error else {
                Issue.record("not a redirect refusal: \(error)")
                return
            }
            #expect(why.contains("302") && why.contains(hq.url))
        }
        #expect(try EnrolmentRecord.load(from: gateway.store) == nil)
        #expect(try hq.admin("gateways").isEmpty, "HQ never saw the enrolment")

        let sync = try await gateway.enrol(hq)
        let board = try pointed(sync, at: "http://127.0.0.1:\(redirector.port)", keyPath: gateway.keyPath)
        await #expect(throws: HQSyncError.redirected("/v1/snapshot: HTTP 302 to \(hq.url)/v1/snapshot")) {
            try await board.pullSnapshot()
        }
        #expect(try gateway.store.snapshotHeader() == nil)
    }

    /// An HTTPS HQ (its certificate trusted, so the handshake succeeds) that answers with a redirect
    /// to plain HTTP: refused before anything reaches the plain address.
    @Test func anHTTPSHQRedirectingToPlainHTTPIsRefused() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let certificate = try TestPaths.temporaryDirectory().appendingPathComponent("hq-cert.pem")
        let redirector = try BadHQ("tlsredirect", [hq.url, certificate.path])
        let gateway = try GatewayRig()
        let location = try HQLocation("https://127.0.0.1:\(redirector.port)")
        let identity = try DeviceIdentity.load(path: gateway.keyPath, create: true)
        let code = try hq.code(doors: ["JKT1/FRONT"])
        var configuration = HQClient.httpConfiguration
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(certificate.path)]
        configuration.tlsConfiguration = tls
        // Nothing throws between the client's creation and its shutdown.
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let client = HQClient(location: location, identity: identity, http: http)
        var refusal: HQSyncError?
        do {
            _ = try await client.enrol(code: code, name: "redirected", now: Date().timeIntervalSince1970)
        } catch {
            refusal = error
        }
        try await http.shutdown()
        guard case .redirected(let why) = refusal else {
            Issue.record("not a redirect refusal: \(String(describing: refusal))")
            return
        }
        #expect(why.contains("302") && why.contains(hq.url), "\(why)")
        #expect(redirector.requests.count == 1, "the request went over the trusted TLS connection: \(redirector.log)")
        #expect(try hq.admin("gateways").isEmpty, "the plain HTTP HQ never saw the enrolment")
    }
}
