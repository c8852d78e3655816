import AccessGateway
import GatewayControl

// One binary for both programs: the package installs it as /usr/bin/access-gateway and links
// /usr/bin/gatewayctl to it, so the Swift runtime and the packages are on the board once.
// The name it is run by decides; any other name runs the daemon, as systemd's unit does.
let name = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
if name == "gatewayctl" {
    await GatewayCtlProgram.main()
}
await DaemonProgram.main(arguments: Array(CommandLine.arguments.dropFirst()))
