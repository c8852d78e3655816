// Shared by every fuzz harness (a module each of them imports; see Tests/Fuzz/Package.swift).
//
// A harness is one libFuzzer target: `LLVMFuzzerTestOneInput` hands it one input, and it must
// return normally for every input. A thrown error is a clean refusal; a trap (out of range,
// overflow, precondition, a broken round trip checked with `fuzzCheck`), an ASan report or a
// hang is a finding.
import CLibFuzzer
import Foundation

/// A harness's input function, as libFuzzer calls it: the input's bytes and their count.
public typealias FuzzInputFunction = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer's driver on the command line's flags and corpora with `testOneInput`, and exits
/// with its status. A harness's `main` calls it (SwiftPM's executables cannot use libFuzzer's own
/// `main`); the harness still exports `LLVMFuzzerTestOneInput`, which libFuzzer's library links to.
public func runFuzzer(_ testOneInput: FuzzInputFunction) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// Traps with `message` when a property the library promises does not hold for this input.
@inline(never)
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        FileHandle.standardError.write(Data("fuzz property violated: \(message())\n".utf8))
        abort()
    }
}

/// When `AG_FUZZ_EMIT_SEEDS` names a folder, the harness writes the seeds that it alone can make
/// (passes and commands signed with the fixed fuzz keys) there, and exits.
public func emitSeedsIfAsked(_ write: (URL) throws -> Void) {
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

/// Writes one seed, `bytes`, as the file `name` in `dir`.
public func writeSeed(_ bytes: [UInt8], _ name: String, to dir: URL) throws {
    try Data(bytes).write(to: dir.appendingPathComponent(name))
}
