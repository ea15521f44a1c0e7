/** Every subcommand of the CLI, in the order `--help` lists them. */
import type { CliCommand } from './cli-command.js';
import { eventsCommand } from './commands/events.js';
import { exportCommand } from './commands/export.js';
import { replayCommand } from './commands/replay.js';
import { reportCommand } from './commands/report.js';
import { rebuildCommand } from './commands/rebuild.js';
import { verifyCommand } from './commands/verify.js';

export const cliCommands: CliCommand[] = [
  eventsCommand,
  replayCommand,
  exportCommand,
  reportCommand,
  rebuildCommand,
  verifyCommand,
];
