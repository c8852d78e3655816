// Shared by every fuzz harness (compiled into each one; see scripts/fuzz.sh).
//
// A harness is one libFuzzer target: `LLVMFuzzerTestOneInput` hands it one input, and it must
// return normally for every input. A thrown error is a clean refusal; a trap (out of range,
// overflow, precondition, a broken round trip checked with `fuzzCheck`), an ASan report or a
// hang is a finding.
import Foundation

/// Traps with `message` when a property the library promises does not hold for this input.
@inline(never)
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        FileHandle.standardError.write(Data("fuzz property violated: \(message())\n".utf8))
        abort()
    }
}

/// When `AG_FUZZ_EMIT_SEEDS` names a folder, the harness writes the seeds that it alone can make
/// (passes and commands signed with the fixed fuzz keys) there, and exits.
func emitSeedsIfAsked(_ write: (URL) throws -> Void) {
    guard let path = ProcessInfo.processInfo.environment["AG_FUZZ_EMIT_SEEDS"] else { return }
    let dir = URL(fileURLWithPath: path)
    do {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try write(dir)
    } catch {
        FileHandle.standardError.write(Data("cannot write seeds to \(path): \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

func writeSeed(_ bytes: [UInt8], _ name: String, to dir: URL) throws {
    try Data(bytes).write(to: dir.appendingPathComponent(name))
}
