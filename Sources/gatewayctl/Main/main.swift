import GatewayControl

await GatewayCtlProgram.main()
