/**
 * A guided demo against a RUNNING scheduler (start one with `npm start`):
 *
 *   npm run demo                                   # http://127.0.0.1:8080
 *   npm run demo -- --url http://127.0.0.1:18181 --follow
 *   SCHEDULER_URL=http://host:8080 API_TOKEN=... npm run demo
 *
 * Options: --url <base> (or SCHEDULER_URL), --token <bearer> (or API_TOKEN; an
 * operator token when the service has API_TOKENS), --follow (poll the execution and
 * print each VM's outcome until it ends), --help.
 *
 * What it does (every step is idempotent, so re-running reuses what exists):
 * 1. Registers the simulated VMs of vCenter 'vcenter.demo.local', datacenter 'DC1'
 *    through POST /discovery/bulk-add (the built-in simulator discovers
 *    sim-dc1-vm-01..05); when discovery answers 503 (no VMA reachable) it registers
 *    five VMs through POST /vm-contexts instead.
 * 2. Creates (or reuses) the schedule 'demo-every-minute' (`* * * * *`) and the
 *    group 'demo-group' attached to it, and assigns the VMs to the group.
 * 3. Triggers one execution at once (POST /schedules/{id}/trigger, reason 'demo').
 * 4. Prints where to watch it.
 */
import { parseArgs } from 'node:util';

const VCENTER = 'vcenter.demo.local';
const DATACENTER = 'DC1';
const GROUP_NAME = 'demo-group';
const SCHEDULE_NAME = 'demo-every-minute';
const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'partial', 'skipped']);

type Json = Record<string, unknown>;

class DemoError extends Error {}

function usage(): string {
  return [
    'usage: npm run demo -- [--url http://127.0.0.1:8080] [--token <bearer>] [--follow]',
    '  --url     the running service (default $SCHEDULER_URL or http://127.0.0.1:8080)',
    '  --token   Bearer token with the operator role (default $API_TOKEN; not needed when auth is off)',
    '  --follow  poll the triggered execution and print VM outcomes until it ends',
  ].join('\n');
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    follow: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});

if (values.help) {
  console.log(usage());
  process.exit(0);
}

const baseUrl = (values.url ?? process.env.SCHEDULER_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const token = values.token ?? process.env.API_TOKEN ?? '';
const api = `${baseUrl}/api/v1`;

interface Answer {
  status: number;
  body: Json;
}

async function call(method: string, path: string, body?: unknown, base = api): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== '') headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new DemoError(
      `cannot reach the scheduler at ${baseUrl} (${why}).\n` +
        `Start it first, in another terminal:  npm start\n` +
        `or point the demo at a running one:   npm run demo -- --url http://host:port   (or SCHEDULER_URL=...)`,
    );
  }
  const text = await response.text();
  let parsed: Json = {};
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Json);
  } catch {
    parsed = { message: text };
  }
  if (response.status === 401 || response.status === 403) {
    throw new DemoError(
      `${method} ${path}: ${response.status} ${String(parsed.message ?? '')}\n` +
        `The service has API_TOKENS configured: pass an operator token with --token <token> (or API_TOKEN=...).`,
    );
  }
  return { status: response.status, body: parsed };
}

function fail(what: string, answer: Answer): never {
  throw new DemoError(`${what} failed: HTTP ${answer.status} ${answer.body.error ?? ''} ${String(answer.body.message ?? JSON.stringify(answer.body))}`);
}

async function expectOk(what: string, method: string, path: string, body?: unknown, ok: number[] = [200, 201, 202]): Promise<Json> {
  const answer = await call(method, path, body);
  if (!ok.includes(answer.status)) fail(what, answer);
  return answer.body;
}

/** Registers the demo VMs; answers their context ids. */
async function registerVms(): Promise<string[]> {
  const bulk = await call('POST', '/discovery/bulk-add', { vcenter: VCENTER, datacenter: DATACENTER });
  if (bulk.status === 200) {
    const added = (bulk.body.added_vms as Array<{ vm_name: string; context_id: string }>) ?? [];
    const skipped = (bulk.body.skipped_vms as Array<{ vm_name: string; existing_context_id?: string | null }>) ?? [];
    const failed = (bulk.body.failed_vms as unknown[]) ?? [];
    console.log(`  discovery (bulk-add): ${added.length} added, ${skipped.length} already registered, ${failed.length} failed`);
    const ids = [...added.map((vm) => vm.context_id), ...skipped.map((vm) => vm.existing_context_id ?? '')].filter((id) => id !== '');
    if (ids.length === 0) throw new DemoError(`discovery of ${VCENTER}/${DATACENTER} found no VM to register`);
    return ids;
  }
  if (bulk.status !== 503) fail('POST /discovery/bulk-add', bulk);
  console.log(`  discovery unavailable (503: ${String(bulk.body.message ?? '')}); registering 5 VMs directly`);
  const ids: string[] = [];
  for (let i = 1; i <= 5; i += 1) {
    const name = `demo-vm-${String(i).padStart(2, '0')}`;
    const created = await call('POST', '/vm-contexts', {
      vm_name: name,
      vmware_vm_id: `vm-${name}`,
      vm_path: `/${DATACENTER}/vm/${name}`,
      vcenter_host: VCENTER,
      datacenter: DATACENTER,
    });
    if (created.status === 201) {
      ids.push(String(created.body.context_id));
    } else if (created.status === 409) {
      const found = await expectOk('GET /vm-contexts', 'GET', `/vm-contexts?search=${encodeURIComponent(name)}&limit=50`);
      const vm = ((found.vms as Json[]) ?? []).find((v) => v.vm_name === name && v.vcenter_host === VCENTER);
      if (!vm) fail(`POST /vm-contexts ${name}`, created);
      ids.push(String(vm.context_id));
    } else {
      fail(`POST /vm-contexts ${name}`, created);
    }
  }
  return ids;
}

async function findOrCreateSchedule(): Promise<string> {
  const list = await expectOk('GET /schedules', 'GET', '/schedules?limit=500');
  const existing = ((list.schedules as Json[]) ?? []).find((s) => s.name === SCHEDULE_NAME);
  if (existing) {
    console.log(`  schedule '${SCHEDULE_NAME}' exists: ${String(existing.id)}${existing.enabled === false ? ' (disabled: the trigger forces it)' : ''}`);
    return String(existing.id);
  }
  const created = await call('POST', '/schedules', {
    name: SCHEDULE_NAME,
    description: 'Created by npm run demo: replicates demo-group every minute',
    cron_expression: '* * * * *',
    timezone: 'UTC',
    max_concurrent_jobs: 5,
    retry_attempts: 1,
    retry_delay_minutes: 1,
    skip_if_running: true,
  });
  if (created.status === 201) {
    console.log(`  schedule '${SCHEDULE_NAME}' created: ${String(created.body.id)} (cron '* * * * *', UTC)`);
    return String(created.body.id);
  }
  if (created.status === 409) return findOrCreateSchedule(); // created concurrently
  fail('POST /schedules', created);
}

async function findOrCreateGroup(scheduleId: string): Promise<string> {
  const list = await expectOk('GET /machine-groups', 'GET', '/machine-groups?limit=500');
  const existing = ((list.groups as Json[]) ?? []).find((g) => g.name === GROUP_NAME);
  if (existing) {
    const id = String(existing.id);
    if (existing.schedule_id !== scheduleId) {
      await expectOk('PATCH /machine-groups', 'PATCH', `/machine-groups/${id}`, { schedule_id: scheduleId });
      console.log(`  group '${GROUP_NAME}' exists: ${id} (attached to the demo schedule)`);
    } else {
      console.log(`  group '${GROUP_NAME}' exists: ${id}`);
    }
    return id;
  }
  const created = await call('POST', '/machine-groups', {
    name: GROUP_NAME,
    description: 'Created by npm run demo',
    schedule_id: scheduleId,
    max_concurrent_vms: 5,
  });
  if (created.status === 201) {
    console.log(`  group '${GROUP_NAME}' created: ${String(created.body.id)}`);
    return String(created.body.id);
  }
  if (created.status === 409) return findOrCreateGroup(scheduleId);
  fail('POST /machine-groups', created);
}

async function assignVms(groupId: string, vmIds: string[]): Promise<void> {
  const members = await expectOk('GET /machine-groups/{id}/vms', 'GET', `/machine-groups/${groupId}/vms`);
  const already = new Set(((members.vms as Json[]) ?? []).map((vm) => String(vm.vm_context_id)));
  const missing = vmIds.filter((id) => !already.has(id));
  if (missing.length === 0) {
    console.log(`  all ${vmIds.length} VMs already in '${GROUP_NAME}'`);
    return;
  }
  const answer = await expectOk('POST /machine-groups/{id}/vms', 'POST', `/machine-groups/${groupId}/vms`, { vm_context_ids: missing, move: true });
  const assigned = (answer.assigned as unknown[]) ?? [];
  const skipped = (answer.skipped as Array<{ vm_context_id: string; reason: string }>) ?? [];
  console.log(`  assigned ${assigned.length} VMs to '${GROUP_NAME}' (${already.size} were members)`);
  for (const s of skipped) console.log(`    not assigned ${s.vm_context_id}: ${s.reason}`);
}

async function follow(executionId: string): Promise<Json> {
  console.log(`\nfollowing execution ${executionId} (Ctrl-C stops following, not the execution):`);
  const seen = new Map<string, string>();
  let lastStatus = '';
  const started = Date.now();
  for (;;) {
    const answer = await call('GET', `/executions/${executionId}`);
    if (answer.status === 200) {
      const execution = answer.body;
      const status = String(execution.status);
      if (status !== lastStatus) {
        console.log(`  [${elapsed(started)}] execution ${status}`);
        lastStatus = status;
      }
      for (const vm of (execution.vms as Json[]) ?? []) {
        const key = String(vm.vm_context_id);
        const detail = [vm.conflict_type, vm.reason].filter((x) => x !== undefined && x !== null && x !== '').join(': ');
        const line = `${String(vm.outcome)}${detail ? ` (${detail})` : ''}${Number(vm.attempts) > 1 ? `, attempt ${String(vm.attempts)}` : ''}`;
        if (seen.get(key) !== line) {
          seen.set(key, line);
          console.log(`  [${elapsed(started)}]   ${String(vm.vm_name).padEnd(16)} ${line}`);
        }
      }
      if (TERMINAL.has(status)) return execution;
    } else if (answer.status !== 404) {
      fail(`GET /executions/${executionId}`, answer);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(0).padStart(3)} s`;
}

async function main(): Promise<void> {
  console.log(`replication scheduler demo against ${baseUrl}`);
  const live = await call('GET', '/health/live', undefined, baseUrl);
  if (live.status !== 200) throw new DemoError(`${baseUrl}/health/live answered ${live.status}: is that the scheduler? Start it with: npm start`);

  console.log('\n1. VMs');
  const vmIds = await registerVms();
  console.log('\n2. schedule and group');
  const scheduleId = await findOrCreateSchedule();
  const groupId = await findOrCreateGroup(scheduleId);
  await assignVms(groupId, vmIds);

  console.log('\n3. trigger one execution now');
  const trigger = await call('POST', `/schedules/${scheduleId}/trigger`, { reason: 'demo', group_id: groupId, force: true });
  if (trigger.status !== 202) fail(`POST /schedules/${scheduleId}/trigger`, trigger);
  const executionId = String(trigger.body.execution_id);
  console.log(`  execution ${executionId}: ${String(trigger.body.status)}, triggered by ${String(trigger.body.triggered_by)}`);

  console.log('\nwatch it:');
  const auth = token !== '' ? ` -H 'Authorization: Bearer ${token}'` : '';
  const lines: Array<[string, string]> = [
    ['this execution', `${api}/executions/${executionId}`],
    ['executions of the schedule', `${api}/schedules/${scheduleId}/executions`],
    ['replication jobs', `${api}/jobs?execution_id=${executionId}`],
    ['all jobs', `${api}/jobs`],
    ['the schedule (next runs)', `${api}/schedules/${scheduleId}`],
    ['the group', `${api}/machine-groups/${groupId}/vms`],
    ['metrics (Prometheus)', `${baseUrl}/metrics`],
    ['API docs (OpenAPI)', `${baseUrl}/docs`],
  ];
  for (const [what, url] of lines) console.log(`  ${what.padEnd(28)} curl -s${auth} ${url}`);
  console.log(`\nThe schedule '${SCHEDULE_NAME}' runs every minute from now on; disable it with:`);
  console.log(`  curl -s${auth} -X POST -H 'content-type: application/json' -d '{"enabled":false}' ${api}/schedules/${scheduleId}/enable`);

  if (values.follow) {
    const done = await follow(executionId);
    console.log(
      `\nexecution ${String(done.status)}: ${String(done.vms_eligible)} eligible, ${String(done.jobs_created)} jobs created, ` +
        `${String(done.jobs_completed)} completed, ${String(done.jobs_failed)} failed, ${String(done.jobs_skipped)} skipped` +
        (done.execution_duration_seconds != null ? `, ${String(done.execution_duration_seconds)} s` : ''),
    );
    if (done.error_message) console.log(`  error: ${String(done.error_message)}`);
  } else {
    console.log(`\n(run with --follow to watch the VM outcomes here: npm run demo -- --follow)`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof DemoError) console.error(`\ndemo: ${error.message}`);
    else console.error(error);
    process.exit(1);
  },
);
