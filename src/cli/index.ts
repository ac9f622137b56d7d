/**
 * gsictl's parts: the command grammar (commands.ts), the text formats (format.ts) and the program
 * as a function (gsictl.ts). Public face of src/cli.
 */
export { runGsictl, USAGE, type GsictlIo } from './gsictl.js'
export { parseCommand, UsageError, FAMILY_ALIASES, COMMAND_LINES, type Command, type CommandKind } from './commands.js'
export * from './format.js'
