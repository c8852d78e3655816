import AccessToken
import Foundation
import TestSupport
import Testing

/// `access-gateway` holds gatewayctl too (the .deb installs it once, with gatewayctl a link to it):
/// the name it is run by decides which program runs.
@Suite struct OneBinaryTests {
    /// A link to the built access-gateway under `name`, in a fresh directory.
    func accessGateway(linkedAs name: String) throws -> URL {
        let link = try TestPaths.temporaryDirectory().appendingPathComponent(name)
        try FileManager.default.createSymbolicLink(
            at: link,
            withDestinationURL: TestPaths.productsDirectory.appendingPathComponent("access-gateway")
        )
        return link
    }

    @Test func runAsGatewayctlItIsGatewayctl() throws {
        let vector = try #require(AG1Vectors.all.first { $0.expectGranted })
        let keys = try TestPaths.temporaryDirectory().appendingPathComponent("keys.json")
        try vector.keys.write(to: keys)
        let arguments = [
            "token", "verify", "--keys", keys.path, "--door", vector.door, "--issuer", vector.issuer,
            "--at", "\(vector.at)", vector.qr,
        ]
        let linked = try run(try accessGateway(linkedAs: "gatewayctl"), arguments)
        let alone = try run(TestPaths.productsDirectory.appendingPathComponent("gatewayctl"), arguments)
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect(linked.stdout == alone.stdout && linked.status == alone.status)
        #expect(try run(try accessGateway(linkedAs: "gatewayctl"), ["--help"]).stdout.contains("USAGE: gatewayctl "))
    }

    @Test func runAsGatewayctlAUsageErrorKeepsGatewayctlsExitStatus() throws {
        let result = try run(try accessGateway(linkedAs: "gatewayctl"), ["token", "verify", "--no-such-option"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("gatewayctl"))
    }

    @Test(arguments: ["access-gateway", "access-gateway.old"])
    func byAnyOtherNameItIsTheDaemon(name: String) throws {
        let result = try run(try accessGateway(linkedAs: name), ["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("access-gateway "), "\(result.stdout)")
    }
}
