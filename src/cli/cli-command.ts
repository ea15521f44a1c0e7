/**
 * One subcommand of `npm run cli -- <command>`. Each lives in its own file
 * under src/cli/commands and is listed in cli-commands.ts.
 */
export interface CliIo {
  /** Standard output: tables, JSON lines, CSV. */
  out: { write(text: string): unknown; isTTY?: boolean };
  /** Diagnostics and progress (kept off stdout so output can be piped). */
  err: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The whole `--help` text of the command. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit status. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** A user mistake on the command line: printed with the command's help hint, exit status 2. */
export class CliUsageError extends Error {}
