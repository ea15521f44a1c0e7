/**
 * Runs a bench's timed phase on compiled JavaScript, as the service runs in production
 * (`npm start` is `node dist/src/main.js`), not under tsx: the tsx loader keeps a
 * thread, a module graph and transpile caches of its own (~45 MB of RSS measured with
 * the projection modules loaded: 100 MB under tsx, 55 MB compiled) that a service
 * process does not have, and a memory target is the service's.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_TSCONFIG = path.join(REPO_ROOT, 'tsconfig.bench.json');
const BENCH_BUILD_DIR = path.join(REPO_ROOT, 'dist', 'bench-build');

let built = false;

/** Compiles src, bench and test/support into dist/bench-build (once per process). Throws with tsc's output on failure. */
function buildOnce(): void {
  if (built) return;
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', BENCH_TSCONFIG], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`compiling the bench for its timed phase failed:\n${result.stdout}${result.stderr}`);
  built = true;
}

/** The compiled JavaScript of a bench source file (its import.meta.url), built first. */
export function compiledEntry(sourceUrl: string): string {
  buildOnce();
  const relative = path.relative(REPO_ROOT, fileURLToPath(sourceUrl));
  return path.join(BENCH_BUILD_DIR, relative.replace(/\.ts$/, '.js'));
}

/** This process's node flags without the tsx loader's (tsx registers itself by --import and --require). */
export function nodeFlagsWithoutTsx(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    const takesValue = flag === '--import' || flag === '--require' || flag === '-r' || flag === '--loader';
    const value = takesValue ? (execArgv[i + 1] ?? '') : flag.replace(/^--(import|require|loader)=/, '');
    const loaderFlag = takesValue || /^--(import|require|loader)=/.test(flag);
    if (loaderFlag && /(^|[/\\])tsx([/\\]|$)|^tsx$/.test(value)) {
      if (takesValue) i += 1;
      continue;
    }
    kept.push(flag);
  }
  return kept;
}
