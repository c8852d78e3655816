import ArgumentParser
import Foundation
import HQProtocol

/// `access-hq-dev root-key`: the root key's fingerprint, which `gatewayctl provision` prints on the
/// board for the installer to compare, as HQ's admin compares the device's.
struct RootKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "root-key",
        abstract: "Print the fingerprint of HQ's root key, for the installer's out-of-band check at enrolment."
    )

    @OptionGroup var database: DatabaseOption

    func run() throws {
        print(DeviceKey.fingerprint(of: try database.open().identity.rootPublicJWK))
    }
}
