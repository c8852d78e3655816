import AccessGateway
import Foundation
import Glibc
import KeyCache
import TestSupport
import Testing

/// The disk-full policy is fail secure: a scan that cannot be recorded opens nothing, shows red,
/// and is reported; nothing already recorded is damaged, and deciding resumes once there is room.
/// On a real, small tmpfs mount (root only: mount(8)).
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a small tmpfs needs root, as in CI"))
struct DiskFullTests {
    /// A 1 MiB tmpfs, unmounted when the test ends.
    final class SmallDisk {
        let path: String
        init() throws {
            path = try TestPaths.temporaryDirectory().path
            let mount = try runTool("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", path])
            guard mount.status == 0 else { throw POSIXError(.EPERM) }
        }
        deinit { _ = try? runTool("umount", ["-l", path]) }

        /// Fills what is left with a file, which `free()` deletes.
        func fill() {
            let filler = path + "/filler"
            FileManager.default.createFile(atPath: filler, contents: nil)
            guard let handle = FileHandle(forWritingAtPath: filler) else { return }
            let chunk = Data(repeating: 0, count: 4096)
            while (try? handle.write(contentsOf: chunk)) != nil {}
            try? handle.close()
        }

        func free() { try? FileManager.default.removeItem(atPath: path + "/filler") }
    }

    @Test func aFullDiskRefusesTheDoorAndLosesNothingAlreadyRecorded() throws {
        let disk = try SmallDisk()
        let rig = try Rig(directory: disk.path)
        let pass = try rig.site.pass()
        rig.run(try rig.folder([pass]))
        #expect(rig.decisions.all.map { $0.decision?.reason } == [.granted])
        _ = rig.relayChanges(atLeast: 3)

        disk.fill()
        let second = try rig.site.pass(serial: 2)
        rig.run(try rig.folder([second]))
        let refused = try #require(rig.decisions.all.last)
        #expect(refused.decision == nil, "decided while the disk is full: \(refused)")
        #expect(refused.failure?.contains("full") == true, "\(refused.failure ?? "")")
        // No pulse for the unrecorded scan: the relay went locked, open, locked for the first only.
        usleep(300_000)
        #expect(rig.relay.all == [false, true, false])

        disk.free()
        rig.run(try rig.folder([try rig.site.pass(serial: 3)]))
        #expect(rig.decisions.all.last?.decision?.reason == .granted)
        #expect(try rig.store.integrityCheck() == "ok")
        #expect(try rig.store.verifyAuditChain() == .intact(events: 2))
    }
}
