/**
 * The read load of bench:bluegreen, in a process of its own: GET requests one after
 * another against the service (BENCH_READ_URL), single rows by id (schedules,
 * groups, VMs of the synthetic log), latencies kept per phase. Commands on stdin:
 * `phase <name>` starts a phase, `stop` prints the figures (one JSON line) and exits.
 */
import { createInterface } from 'node:readline';

interface PhaseFigures {
  requests: number;
  /** Answers other than 200: a row missing during a rebuild would show here. */
  failures: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

const base = process.env.BENCH_READ_URL ?? '';
const shape = JSON.parse(process.env.BENCH_READ_SHAPE ?? '{}') as { schedules: number; groups: number; vms: number };
const latencies = new Map<string, number[]>();
const failures = new Map<string, number>();
let phase = 'warmup';
let running = true;

const scheduleId = (n: number) => `sched-${n.toString(36).padStart(5, '0')}`;
const groupId = (n: number) => `group-${n.toString(36).padStart(4, '0')}`;
const vmId = (n: number) => `vm-${n.toString(36).padStart(5, '0')}`;

function nextUrl(counter: number): string {
  switch (counter % 3) {
    case 0:
      return `${base}/api/v1/schedules/${scheduleId(counter % shape.schedules)}`;
    case 1:
      return `${base}/api/v1/machine-groups/${groupId(counter % shape.groups)}`;
    default:
      return `${base}/api/v1/vm-contexts/${vmId(counter % shape.vms)}`;
  }
}

function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;
}

function figures(): Record<string, PhaseFigures> {
  const result: Record<string, PhaseFigures> = {};
  for (const [name, values] of latencies) {
    const sorted = [...values].sort((a, b) => a - b);
    result[name] = {
      requests: values.length,
      failures: failures.get(name) ?? 0,
      p50_ms: percentile(sorted, 0.5),
      p99_ms: percentile(sorted, 0.99),
      max_ms: sorted[sorted.length - 1] ?? 0,
    };
  }
  return result;
}

async function load(): Promise<void> {
  let counter = 0;
  while (running) {
    const url = nextUrl(counter);
    counter += 7919; // a prime step: ids spread over the tables, not one hot row
    const started = performance.now();
    let ok = false;
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      ok = response.status === 200;
    } catch {
      ok = false;
    }
    const elapsed = performance.now() - started;
    const values = latencies.get(phase) ?? [];
    values.push(elapsed);
    latencies.set(phase, values);
    if (!ok) failures.set(phase, (failures.get(phase) ?? 0) + 1);
  }
}

const loop = load();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, name] = line.trim().split(/\s+/);
  if (command === 'phase' && name) phase = name;
  if (command === 'stop') {
    running = false;
    void loop.then(() => {
      process.stdout.write(`${JSON.stringify(figures())}\n`);
      process.exit(0);
    });
  }
});
