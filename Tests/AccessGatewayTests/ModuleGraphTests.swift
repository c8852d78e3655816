import Foundation
import TestSupport
import Testing

/// The README's module table is the architecture's one statement: each row's imports must be the
/// imports its sources make, and each may only name rows above it.
@Suite struct ModuleGraphTests {
    /// A module's sources: folders, less the subfolders that are other targets.
    static let sources: [String: (folder: String, except: String?)] = [
        "QRCodec": ("Sources/QRCodec", nil),
        "AccessToken": ("Sources/AccessToken", nil),
        "DoorDriver": ("Sources/DoorDriver", nil),
        "HQProtocol": ("Sources/HQProtocol", nil),
        "AccessPolicy": ("Sources/AccessPolicy", nil),
        "KeyCache": ("Sources/KeyCache", nil),
        "HQSync": ("Sources/HQSync", nil),
        "AccessGateway": ("Sources/AccessGateway", "Daemon"),
        "GatewayControl": ("Sources/gatewayctl", "Main"),
        "access-gateway": ("Sources/AccessGateway/Daemon", nil),
        "gatewayctl": ("Sources/gatewayctl/Main", nil),
        "access-hq-dev": ("Tests/ReferenceHQ", nil),
    ]

    struct Row {
        var modules: [String]
        var imports: Set<String>
    }

    /// The table after the README's module-graph marker, in order.
    static func table() throws -> [Row] {
        let readme = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try #require(readme.range(of: "<!-- module graph"))
        var rows: [Row] = []
        for line in readme[marker.upperBound...].split(separator: "\n").dropFirst(3) {
            guard line.hasPrefix("| `") else { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { String($0) }
            rows.append(Row(modules: names(cells[1]), imports: Set(names(cells[3]))))
        }
        return rows
    }

    /// The backquoted names in a cell.
    static func names(_ cell: String) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// The modules of this package that `module`'s source files import.
    static func imports(of module: String, among ours: Set<String>) throws -> Set<String> {
        let (folder, except) = try #require(sources[module], "\(module) has no folder in ModuleGraphTests.sources")
        let root = TestPaths.packageRoot.appendingPathComponent(folder)
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        var found = Set<String>()
        for case let file as URL in files where file.pathExtension == "swift" {
            if let except, file.path.hasPrefix(root.appendingPathComponent(except).path + "/") { continue }
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                    words[..<index].allSatisfy({ $0.hasPrefix("@") })
                else { continue }
                let name = String(words[index + 1])
                if ours.contains(name) { found.insert(name) }
            }
        }
        return found
    }

    @Test func everyModuleHasARow() throws {
        let listed = Set(try Self.table().flatMap(\.modules))
        #expect(Set(Self.sources.keys).subtracting(listed).isEmpty, "modules missing from the README's table")
    }

    @Test(arguments: sources.keys.sorted())
    func aModuleImportsWhatItsRowSays(_ module: String) throws {
        let rows = try Self.table()
        let ours = Set(rows.flatMap(\.modules))
        let row = try #require(rows.first { $0.modules.contains(module) }, "\(module) has no row")
        #expect(try Self.imports(of: module, among: ours) == row.imports)
    }

    @Test func eachRowImportsOnlyRowsAboveIt() throws {
        let rows = try Self.table()
        var above = Set<String>()
        for row in rows {
            #expect(row.imports.isSubset(of: above), "\(row.modules) imports \(row.imports.subtracting(above))")
            above.formUnion(row.modules)
        }
    }

    @Test func theDoorTheStoreAndTheSyncStayApart() throws {
        let rows = try Self.table()
        func row(_ module: String) -> Set<String> { rows.first { $0.modules.contains(module) }?.imports ?? [] }
        #expect(row("DoorDriver").isDisjoint(with: ["AccessToken", "HQProtocol", "KeyCache"]))
        #expect(!row("KeyCache").contains("DoorDriver") && !row("HQSync").contains("DoorDriver"))
        #expect(row("access-hq-dev").isDisjoint(with: ["KeyCache", "HQSync"]))
        // The decision is pure: no store, no door, no network.
        #expect(row("AccessPolicy").isDisjoint(with: ["KeyCache", "DoorDriver", "HQSync", "CSQLite"]))
    }
}
