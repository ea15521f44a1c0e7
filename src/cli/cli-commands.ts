/** Every subcommand of the CLI, in the order `--help` lists them. */
import type { CliCommand } from './cli-command.js';

export const cliCommands: CliCommand[] = [];
