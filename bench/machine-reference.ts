/**
 * A fixed single-threaded JavaScript workload, timed: the speed of the machine the
 * figures came from, at that moment. Shared cloud machines of the same kind vary by
 * 30 % or more from one hour to the next (noisy neighbours; the same code's figures
 * move with them), so each bench prints it before and after its runs, and figures
 * from different runs can be set against each other.
 */

/** Milliseconds for the workload (lower is faster); the median of three. */
export function machineReferenceMs(): number {
  const times: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const started = performance.now();
    referenceWorkload();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[1]!;
}

/** The line a bench prints: `machine reference before: 170 ms (a fixed JS workload; lower is faster)`. */
export function machineReferenceLine(when: string): string {
  return `machine reference ${when}: ${machineReferenceMs().toFixed(0)} ms (a fixed JS workload, median of 3; lower is faster)`;
}

/** Arithmetic, object allocation and JSON, as the service's own work mixes them. */
function referenceWorkload(): void {
  let sum = 0;
  for (let i = 0; i < 5_000_000; i += 1) sum += i % 7;
  const objects: Array<{ id: number; name: string; tags: string[] }> = [];
  for (let i = 0; i < 50_000; i += 1) objects.push({ id: i, name: `vm-${i}`, tags: ['a', String(sum % (i + 1))] });
  const text = JSON.stringify(objects);
  if ((JSON.parse(text) as unknown[]).length !== objects.length) throw new Error('machine reference: workload went wrong');
}
