import APMCommands

await APMCommand.runFromCommandLine()
