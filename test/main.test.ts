/** The service as an operator runs it: a process configured by its environment. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

function runService(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('the service process', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'scheduler-main-'));
  });
  after(async () => rm(dataDir, { recursive: true, force: true }));

  it('refuses a bad configuration with a message naming the variable', async () => {
    for (const [env, variable] of [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ HOST: '0.0.0.0', API_TOKENS: '' }, 'HOST'],
      [{ DATABASE_URL: 'postgres://db/x' }, 'DATABASE_URL'],
      [{ OMA_API_URL: 'http://127.0.0.1:9', VMA_API_URL: 'http://127.0.0.1:9', OMA_API_TOKEN: 'token-123', OMA_OSSEA_CONFIG_ID: 'one' }, 'OMA_OSSEA_CONFIG_ID'],
      [{ VCENTER_CREDENTIALS: '{"vc": {"username": "u"}}' }, 'VCENTER_CREDENTIALS'],
    ] as const) {
      const run = runService({ DATA_DIR: dataDir, ...env });
      assert.equal(await run.exited, 2);
      assert.match(run.output().stderr, new RegExp(`configuration error: ${variable}:`));
    }
  });

  it('starts on the embedded defaults, answers, and stops cleanly on SIGTERM', async () => {
    const run = runService({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', API_TOKENS: '' });
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${JSON.stringify(run.output())}`)), 20_000);
      run.child.stdout.on('data', () => {
        const line = run.output().stdout.split('\n').find((l) => l.includes('replication scheduler listening'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { address: string }).address);
        }
      });
    });
    const ready = await fetch(`${address}/health/ready`);
    assert.equal(ready.status, 200);
    const created = await fetch(`${address}/api/v1/schedules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'From a process', cron_expression: '0 1 * * *' }) });
    assert.equal(created.status, 201);
    assert.match(run.output().stdout, /auth is off/);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0);
  });
});
