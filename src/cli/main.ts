/**
 * `npm run cli -- <command> [options]`: audit, replay, rebuild, verify,
 * export and reports over the service's stores. Exit status: 0 done,
 * 1 the command found a problem (e.g. drift), 2 a usage or configuration error.
 */
import { ConfigError } from '../config.js';
import { CliUsageError, type CliCommand, type CliIo } from './cli-command.js';
import { cliCommands } from './cli-commands.js';

export function cliHelp(commands: readonly CliCommand[]): string {
  const width = Math.max(0, ...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['Usage: npm run cli -- <command> [options]', '', 'Commands:', ...lines, '', 'Run `npm run cli -- <command> --help` for the options of a command.', ''].join('\n');
}

export async function runCli(argv: string[], io: CliIo, commands: readonly CliCommand[] = cliCommands): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out.write(cliHelp(commands));
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err.write(`unknown command: ${name}\n\n${cliHelp(commands)}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.err.write(`${name}: ${error.message}\nRun \`npm run cli -- ${name} --help\` for usage.\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.err.write(`configuration error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  runCli(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env }).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
