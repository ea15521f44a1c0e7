/** `rebuild [--projection NAME] [--blue-green]`: rebuilds read models from the log, showing progress. */
import { parseArgs } from 'node:util';
import type { Config } from '../../config.js';
import { allProjections } from '../../projections/all-projections.js';
import { NotTheWriterError, ProjectionRunner, type ProjectionRunnerLogger, type RebuildReport } from '../../projections/projection-runner.js';
import { CliUsageError, type CliCommand, type CliIo } from '../cli-command.js';
import { openCliStores } from '../cli-stores.js';
import { ProgressDisplay } from '../progress-display.js';

const PROJECTION_NAMES = allProjections.map((projection) => projection.name);

const HELP = `Usage: npm run cli -- rebuild [--projection NAME] [--blue-green] [--service-url URL]

Rebuilds the read models from the event log. Progress goes to stderr: a bar
(events done, events/s, time left) on a terminal, a line every 2 s otherwise.

Without --blue-green the rebuild is IN PLACE: the tables are emptied and the log
replayed into them, so readers see half-built tables meanwhile. Run it only with
the service STOPPED. (A running service holds the projection lease; the in-place
rebuild then refuses to start.)

With --blue-green the tables are built anew beside the live ones and swapped in,
with their checkpoints, in one step at the end; readers keep the complete old
tables until then. Safe while the service runs: a running service holds the
projection lease (it is the one writing the read models), so the rebuild is asked
of it, POST /api/v1/admin/projections/rebuild, and its progress followed.

Options:
  --projection NAME  rebuild only this projection: ${PROJECTION_NAMES.join(', ')}
  --blue-green       build beside the live tables and swap (safe while the service runs)
  --service-url URL  where to ask a running service (default http://HOST:PORT of the
                     configuration; the admin token is taken from API_TOKENS)

Exit status: 0 rebuilt; 1 the rebuild failed or could not run; 2 a usage error.
`;

interface RebuildArgs {
  projection: string | null;
  blueGreen: boolean;
  serviceUrl: string | null;
}

function parse(args: string[]): RebuildArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { projection: { type: 'string' }, 'blue-green': { type: 'boolean', default: false }, 'service-url': { type: 'string' } },
    });
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  const projection = parsed.values.projection ?? null;
  if (projection !== null && !PROJECTION_NAMES.includes(projection)) {
    throw new CliUsageError(`unknown projection ${projection}; the projections are ${PROJECTION_NAMES.join(', ')}`);
  }
  return { projection, blueGreen: parsed.values['blue-green'], serviceUrl: parsed.values['service-url'] ?? null };
}

function cliLogger(io: CliIo): ProjectionRunnerLogger {
  return { info: () => undefined, error: (details, message) => io.err.write(`${message ?? 'error'}${'err' in details && details.err instanceof Error ? `: ${details.err.message}` : ''}\n`) };
}

function label(projection: string | null, blueGreen: boolean): string {
  return `rebuild ${projection ?? 'all'}${blueGreen ? ' (blue/green)' : ''}`;
}

/** The rebuild, run here: this process takes the projection lease for its duration. */
async function rebuildHere(args: RebuildArgs, io: CliIo): Promise<number | 'service-holds-lease'> {
  const stores = await openCliStores(io.env);
  const runner = new ProjectionRunner(stores.store, stores.readDb, allProjections, { logger: cliLogger(io) });
  const display = new ProgressDisplay(io, label(args.projection, args.blueGreen));
  try {
    const options = { ...(args.projection !== null && { projections: [args.projection] }), onProgress: (figures: Parameters<ProgressDisplay['update']>[0]) => display.update(figures) };
    const result = args.blueGreen ? await runner.rebuildBlueGreen(options) : await runner.rebuild(options);
    const report = runner.rebuildReport;
    if (report) display.finish(report);
    io.err.write(`rebuilt ${(report?.projections ?? []).join(', ')}: ${result.events} events in ${result.seconds.toFixed(1)} s\n`);
    return 0;
  } catch (error) {
    if (error instanceof NotTheWriterError) return 'service-holds-lease';
    io.err.write(`rebuild failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await runner.stop();
    await stores.close();
  }
}

function serviceUrlOf(config: Config, given: string | null): string {
  if (given !== null) return given.replace(/\/+$/, '');
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/** Asks the running service (the lease holder) for a blue/green rebuild and follows its progress. */
async function rebuildInService(args: RebuildArgs, io: CliIo): Promise<number> {
  const stores = await openCliStores(io.env);
  const config = stores.config;
  await stores.close();
  const base = serviceUrlOf(config, args.serviceUrl);
  const token = config.apiTokens.find((entry) => entry.role === 'admin')?.token;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) };
  io.err.write(`the service holds the projection lease; asking it to rebuild: ${base}\n`);
  let started: Response;
  try {
    started = await fetch(`${base}/api/v1/admin/projections/rebuild`, {
      method: 'POST',
      headers,
      body: JSON.stringify(args.projection === null ? {} : { projection: args.projection }),
    });
  } catch (error) {
    io.err.write(`could not reach the service at ${base} (${error instanceof Error ? error.message : String(error)}); use --service-url\n`);
    return 1;
  }
  const answer = (await started.json()) as { rebuild_id?: string; message?: string };
  if (started.status !== 202 || answer.rebuild_id === undefined) {
    io.err.write(`the service refused the rebuild (${started.status}): ${answer.message ?? ''}\n`);
    return 1;
  }
  const display = new ProgressDisplay(io, label(args.projection, true));
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const progress = await fetch(`${base}/api/v1/admin/projections`, { headers });
    const body = (await progress.json()) as { rebuild: (Omit<RebuildReport, 'id'> & { rebuild_id: string }) | null };
    const rebuild = body.rebuild;
    if (rebuild === null || rebuild.rebuild_id !== answer.rebuild_id) {
      io.err.write('the service no longer reports this rebuild (restarted?)\n');
      return 1;
    }
    if (rebuild.status === 'running') {
      display.update(rebuild);
      continue;
    }
    display.finish(rebuild);
    if (rebuild.status === 'failed') {
      io.err.write(`rebuild failed: ${rebuild.error ?? 'unknown error'}\n`);
      return 1;
    }
    io.err.write(`rebuilt ${rebuild.projections.join(', ')}: ${rebuild.events_done} events\n`);
    return 0;
  }
}

export const rebuildCommand: CliCommand = {
  name: 'rebuild',
  summary: 'rebuild read models from the log (in place with the service stopped, or --blue-green)',
  help: HELP,
  async run(args, io) {
    const parsed = parse(args);
    const outcome = await rebuildHere(parsed, io);
    if (outcome !== 'service-holds-lease') return outcome;
    if (!parsed.blueGreen) {
      io.err.write('rebuild refused: the service is running (it holds the projection lease). Stop it first, or use --blue-green.\n');
      return 1;
    }
    return rebuildInService(parsed, io);
  },
};
