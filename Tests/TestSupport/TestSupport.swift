import Foundation

/// Paths and small helpers shared by the test targets.
public enum TestPaths {
    /// The package root, found from this file's location.
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` beside the checkout, or `$AG_SHARED` when set.
    public static let shared: URL = {
        if let path = ProcessInfo.processInfo.environment["AG_SHARED"] { return URL(fileURLWithPath: path) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    public static func sharedFile(_ relative: String) -> URL { shared.appendingPathComponent(relative) }

    /// The files in a `shared` folder with the given extension, sorted by name.
    public static func sharedFiles(in folder: String, ext: String) -> [URL] {
        let dir = sharedFile(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// A directory holding the built products (gatewayctl, access-gateway).
    public static var productsDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["AG_PRODUCTS"] { return URL(fileURLWithPath: path) }
        // The test bundle lives in the products directory: .build/<triple>/debug/X.xctest
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" && !url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.path == "/" ? packageRoot.appendingPathComponent(".build/debug") : url.deletingLastPathComponent()
    }

    /// Scratch space for this test process, inside the build folder and so out of git and /tmp.
    /// Emptied when the process first asks for it; private test keys never outlive a run there.
    private static let scratchRoot: URL = {
        let root = packageRoot.appendingPathComponent(
            ".build/test-scratch/\(ProcessInfo.processInfo.processIdentifier)"
        )
        let parent = root.deletingLastPathComponent()
        try? FileManager.default.removeItem(at: parent)
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }()

    /// A fresh directory under this run's scratch space.
    public static func temporaryDirectory() throws -> URL {
        let url = scratchRoot.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Decodes hex, ignoring case; nil on odd length or a non-hex digit.
public func bytes(hex: String) -> [UInt8]? {
    let chars = Array(hex.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    for i in stride(from: 0, to: chars.count, by: 2) {
        guard let b = UInt8(String(decoding: chars[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
        out.append(b)
    }
    return out
}

/// Reads a JSON file into Foundation objects.
public func readJSON(_ url: URL) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: url))
}

/// The result of running a child process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments`, feeding `input` on stdin, and waits for it.
public func run(_ executable: URL, _ arguments: [String], input: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    let inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inPipe.fileHandleForWriting.close()
    // Read both pipes before waiting, so a chatty child cannot block on a full pipe.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self)
    )
}

/// Runs a tool found on PATH.
public func runTool(_ name: String, _ arguments: [String], input: String? = nil) throws -> ProcessResult {
    try run(URL(fileURLWithPath: "/usr/bin/env"), [name] + arguments, input: input)
}

/// One case of `../shared/vectors/ag1/cases.json`.
public struct AG1Vector: CustomStringConvertible, Sendable {
    public var name: String
    public var qr: String
    /// The JWKS, as JSON.
    public var keys: Data
    public var door: String
    public var at: Double
    public var issuer: String
    public var expectGranted: Bool
    public var expectReason: String

    public var description: String { name }
}

public enum AG1Vectors {
    public static let all: [AG1Vector] = {
        let url = TestPaths.sharedFile("vectors/ag1/cases.json")
        guard let list = try? readJSON(url) as? [[String: Any]] else { return [] }
        return list.map { c in
            AG1Vector(
                name: c["name"] as! String,
                qr: c["qr"] as! String,
                keys: try! JSONSerialization.data(withJSONObject: c["keys"]!),
                door: c["door"] as! String,
                at: (c["at"] as! NSNumber).doubleValue,
                issuer: c["issuer"] as! String,
                expectGranted: c["expect_granted"] as! Bool,
                expectReason: c["expect_reason"] as! String
            )
        }
    }()
}

/// One input of a fuzz target: a reproducer that `make fuzz` found (Tests/Fuzz/regressions/<target>)
/// or a committed edge input (Tests/Fuzz/edge/<target>).
public struct FuzzInput: Sendable, CustomStringConvertible {
    public var target: String
    public var path: String
    public var bytes: [UInt8]

    public var description: String { "\(target)/\(path)" }
}

public enum FuzzInputs {
    public static let root = TestPaths.packageRoot.appendingPathComponent("Tests/Fuzz")
    public static let targets = ["cbor", "cose", "ag1", "base45", "snapshot", "hqcommand"]

    public static func folder(_ kind: String, _ target: String) -> URL {
        root.appendingPathComponent(kind).appendingPathComponent(target)
    }

    /// Every regression and edge input of `target`, by name.
    public static func of(_ target: String) -> [FuzzInput] {
        ["regressions", "edge"].flatMap { kind -> [FuzzInput] in
            let dir = folder(kind, target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name in
                guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else {
                    return nil
                }
                return FuzzInput(target: target, path: "\(kind)/\(name)", bytes: Array(data))
            }
        }
    }
}
