import APMCommands

// The example service as an executable of its own; the same as `apm example-service`.
await APMCommand.runExampleServiceFromCommandLine()
