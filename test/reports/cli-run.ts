/** Runs the CLI in-process against a test service's stores and keeps what it wrote. */
import { runCli } from '../../src/cli/main.js';
import type { TestService } from '../support/test-service.js';
import { capturedIo } from '../cli/captured-io.js';

export interface CliRun {
  status: number;
  out: string;
  err: string;
}

export async function runCliOn(service: TestService, args: string[]): Promise<CliRun> {
  const io = capturedIo({ ...service.storesEnv, LOG_LEVEL: 'silent' });
  const status = await runCli(args, io);
  return { status, out: io.stdout(), err: io.stderr() };
}

/** CSV records as RFC 4180 reads them (quoted fields may hold commas, quotes and line breaks). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += c;
  }
  if (field !== '' || record.length > 0) throw new Error(`CSV does not end with CRLF: ${JSON.stringify(text.slice(-40))}`);
  return records;
}

/** CSV text as objects keyed by its header row. */
export function csvObjects(text: string): { header: string[]; rows: Array<Record<string, string>> } {
  const [header = [], ...records] = parseCsv(text);
  for (const record of records) if (record.length !== header.length) throw new Error(`record of ${record.length} fields under a header of ${header.length}`);
  return { header, rows: records.map((record) => Object.fromEntries(header.map((name, i) => [name, record[i] ?? '']))) };
}
