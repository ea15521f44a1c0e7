/**
 * Malformed requests, systematically, across every route the API has: each one
 * must be answered 4xx (the expected status where the spec fixes it) in the
 * error shape of spec/api.md, with `x-request-id` equal to `request_id`, and
 * must append nothing to the event log.
 *
 * The cases are a table generated from per-route field specs (wrong types,
 * missing and unknown fields, out-of-range integers, oversize strings, invalid
 * enumerations and ids), plus non-JSON and oversize bodies, invalid cron
 * expressions and time zones, unknown and badly formed ids, bad query strings,
 * auth (401/403), and domain refusals (400/404/409). Every case is its own
 * subtest named "<route> | <category> | <what>".
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HTTPMethods } from 'fastify';
import { logLength, startTestService } from '../support/test-service.js';

const TOKENS = { viewer: 'viewer-token-1', operator: 'operator-token-1', admin: 'admin-token-1' } as const;
const API_TOKENS = `viewer:viewer:${TOKENS.viewer},operator:operator:${TOKENS.operator},admin:admin:${TOKENS.admin}`;
const API = '/api/v1';

const STATUS_OF_KIND: Record<string, number> = {
  ValidationError: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  RateLimited: 429,
  Unavailable: 503,
};

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

interface Case {
  /** Route template, e.g. "PATCH /schedules/{id}". */
  route: string;
  category: string;
  what: string;
  method: HTTPMethods;
  /** Path under /api/v1 (or absolute when it starts with /api or /). */
  url: string;
  /** Bearer token; null sends no Authorization header. Default: operator. */
  token?: string | null;
  /** Raw Authorization header (wins over token). */
  authorization?: string;
  /** Sent as JSON (application/json). */
  json?: unknown;
  /** Sent as it is, with contentType (if any). */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
  expect: number | readonly number[];
  /** Sends the same request this many times (idempotency replays); every answer is checked. */
  times?: number;
}

type FieldSpec =
  | { kind: 'string'; maxLength: number; minLength: number; nullable?: boolean }
  | { kind: 'integer'; min: number; max: number; nullable?: boolean; beyond?: readonly [number, number] }
  | { kind: 'boolean'; nullable?: boolean }
  | { kind: 'enum'; values: readonly string[]; nullable?: boolean }
  | { kind: 'id'; nullable?: boolean };

const str = (maxLength: number, options: { minLength?: number; nullable?: boolean } = {}): FieldSpec => ({ kind: 'string', maxLength, minLength: options.minLength ?? 1, nullable: options.nullable });
const int = (min: number, max: number, nullable = false): FieldSpec => ({ kind: 'integer', min, max, nullable });
const bool: FieldSpec = { kind: 'boolean' };
const oneOf = (...values: string[]): FieldSpec => ({ kind: 'enum', values });
const id = (nullable = false): FieldSpec => ({ kind: 'id', nullable });
/** Priorities have no documented range: the read models' int32 columns bound them. */
const PRIORITY: FieldSpec = { kind: 'integer', min: -2147483648, max: 2147483647, beyond: [-2147483649, 2147483648] };

/** Schedule fields, ranges of spec/domain.md. */
const SCHEDULE_FIELDS: Record<string, FieldSpec> = {
  name: str(255),
  description: str(4000, { minLength: 0, nullable: true }),
  schedule_type: oneOf('cron', 'chain'),
  cron_expression: str(100, { nullable: true }),
  timezone: str(50),
  chain_parent_schedule_id: id(true),
  chain_delay_minutes: int(0, 10080),
  chain_trigger_on: oneOf('success', 'completion'),
  replication_type: oneOf('auto', 'full', 'incremental'),
  max_concurrent_jobs: int(1, 1000),
  retry_attempts: int(0, 10),
  retry_delay_minutes: int(0, 1440),
  enabled: bool,
  skip_if_running: bool,
  catchup_policy: oneOf('latest', 'all', 'skip'),
  catchup_window_minutes: int(0, 525600),
  jitter_seconds: int(0, 3600),
};

const GROUP_FIELDS: Record<string, FieldSpec> = {
  name: str(255),
  description: str(4000, { minLength: 0, nullable: true }),
  schedule_id: id(true),
  max_concurrent_vms: int(1, 1000),
  max_members: int(1, 100000, true),
  priority: PRIORITY,
};

const VM_FIELDS: Record<string, FieldSpec> = {
  vm_name: str(255),
  vmware_vm_id: str(255),
  vm_path: str(500),
  vcenter_host: str(255),
  datacenter: str(255),
  cpu_count: int(1, 4096, true),
  memory_mb: int(1, 268435456, true),
  os_type: str(255, { minLength: 0, nullable: true }),
  power_state: str(50, { minLength: 0, nullable: true }),
  vm_tools_version: str(255, { minLength: 0, nullable: true }),
};

const VM_STATUSES = ['discovered', 'replicating', 'ready_for_failover', 'failed_over_test', 'failed_over_live', 'completed', 'failed', 'cleanup_required'];

/** Values of the wrong JSON type for a field. */
function wrongTypes(spec: FieldSpec): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const textual = spec.kind === 'string' || spec.kind === 'enum' || spec.kind === 'id';
  if (spec.kind === 'integer') out.push(['string for integer', '5']);
  if (spec.kind === 'boolean') out.push(['string for boolean', 'true'], ['number for boolean', 1]);
  if (textual) out.push(['number for string', 42]);
  if (spec.kind !== 'boolean') out.push(['boolean', true]);
  if (!spec.nullable) out.push(['null where not nullable', null]);
  out.push(['array', spec.kind === 'integer' ? [5] : spec.kind === 'boolean' ? [true] : ['x']]);
  out.push(['object', { value: spec.kind === 'integer' ? 5 : 'x' }]);
  return out;
}

/** Values of the right type but outside the field's range, length or enumeration. */
function outOfRange(spec: FieldSpec): Array<[string, string, unknown]> {
  switch (spec.kind) {
    case 'integer': {
      const [below, above] = spec.beyond ?? [spec.min - 1, spec.max + 1];
      return [
        ['out of range', `below the minimum (${below})`, below],
        ['out of range', `above the maximum (${above})`, above],
        ['out of range', 'float (1.5)', Math.max(spec.min, 0) + 1.5],
        ['out of range', 'huge (1e300)', 1e300],
      ];
    }
    case 'string': {
      const out: Array<[string, string, unknown]> = [['oversize string', `${spec.maxLength + 1} chars`, 'x'.repeat(spec.maxLength + 1)]];
      if (spec.minLength > 0) out.push(['out of range', 'empty string', '']);
      return out;
    }
    case 'enum':
      return [
        ['bad value', 'not in the enumeration', 'bogus'],
        ['bad value', 'wrong case', spec.values[0]!.toUpperCase()],
      ];
    case 'id':
      return [
        ['bad id', 'bad characters', 'bad id!'],
        ['bad id', '65 chars', 'a'.repeat(65)],
        ['bad id', 'empty', ''],
      ];
    case 'boolean':
      return [];
  }
}

/** A label for a value in a case name (short). */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 24 ? `${text.slice(0, 12)}...(${text.length} chars)` : text;
}

interface Fixtures {
  /** A cron schedule in a group and followed by the chain schedule C. */
  S: string;
  sName: string;
  /** A chain schedule following S. */
  C: string;
  /** A schedule nothing references (target of DELETE cases). */
  D: string;
  /** A group on S with member V1. */
  G: string;
  gName: string;
  /** A full group (max_members 1) with member V2. */
  GF: string;
  /** An empty group (target of DELETE cases). */
  GE: string;
  V1: string;
  V2: string;
  /** A VM in no group. */
  V3: string;
  v1Identity: { vcenter_host: string; vmware_vm_id: string };
  /** Idempotency-Key already used by the creation of D. */
  usedKey: string;
}

/** A well-formed id that names nothing. */
const UNKNOWN = 'unknown0000000000000x';

function buildCases(fx: Fixtures): Case[] {
  const cases: Case[] = [];
  let serial = 0;
  const unique = (prefix: string) => `${prefix}-${++serial}`;
  const add = (c: Case) => cases.push(c);

  const newSchedule = () => ({ name: unique('probe-schedule'), cron_expression: '0 * * * *' });
  const newGroup = () => ({ name: unique('probe-group') });
  const newVm = () => ({ vm_name: unique('probe-vm'), vmware_vm_id: unique('vm-probe'), vm_path: '/dc1/vm/probe', vcenter_host: 'vc.example', datacenter: 'dc1' });

  // -- Every route, with a valid request for it (used by auth and id cases) -----------
  interface RouteDef {
    route: string;
    method: HTTPMethods;
    url: string;
    body?: () => unknown;
    write: boolean;
    /** Least role; default viewer for reads, operator for writes. */
    viewerMay?: boolean;
  }
  const routes: RouteDef[] = [
    { route: 'POST /schedules', method: 'POST', url: '/schedules', body: newSchedule, write: true },
    { route: 'GET /schedules', method: 'GET', url: '/schedules', write: false },
    { route: 'GET /schedules/{id}', method: 'GET', url: `/schedules/${fx.S}`, write: false },
    { route: 'PUT /schedules/{id}', method: 'PUT', url: `/schedules/${fx.S}`, body: () => ({ description: 'changed' }), write: true },
    { route: 'PATCH /schedules/{id}', method: 'PATCH', url: `/schedules/${fx.S}`, body: () => ({ description: 'changed' }), write: true },
    { route: 'DELETE /schedules/{id}', method: 'DELETE', url: `/schedules/${fx.D}`, write: true },
    { route: 'POST /schedules/{id}/enable', method: 'POST', url: `/schedules/${fx.S}/enable`, body: () => ({ enabled: false }), write: true },
    { route: 'GET /schedules/{id}/next-runs', method: 'GET', url: `/schedules/${fx.S}/next-runs`, write: false },
    { route: 'GET /schedules/{id}/history', method: 'GET', url: `/schedules/${fx.S}/history`, write: false },
    { route: 'POST /schedules/preview', method: 'POST', url: '/schedules/preview', body: () => ({ cron_expression: '0 * * * *', timezone: 'UTC' }), write: true, viewerMay: true },
    { route: 'POST /machine-groups', method: 'POST', url: '/machine-groups', body: newGroup, write: true },
    { route: 'GET /machine-groups', method: 'GET', url: '/machine-groups', write: false },
    { route: 'GET /machine-groups/{id}', method: 'GET', url: `/machine-groups/${fx.G}`, write: false },
    { route: 'PUT /machine-groups/{id}', method: 'PUT', url: `/machine-groups/${fx.G}`, body: () => ({ description: 'changed' }), write: true },
    { route: 'PATCH /machine-groups/{id}', method: 'PATCH', url: `/machine-groups/${fx.G}`, body: () => ({ description: 'changed' }), write: true },
    { route: 'DELETE /machine-groups/{id}', method: 'DELETE', url: `/machine-groups/${fx.GE}`, write: true },
    { route: 'POST /machine-groups/{id}/vms', method: 'POST', url: `/machine-groups/${fx.G}/vms`, body: () => ({ vm_context_id: fx.V3 }), write: true },
    { route: 'GET /machine-groups/{id}/vms', method: 'GET', url: `/machine-groups/${fx.G}/vms`, write: false },
    { route: 'PATCH /machine-groups/{id}/vms/{vmId}', method: 'PATCH', url: `/machine-groups/${fx.G}/vms/${fx.V1}`, body: () => ({ priority: 5 }), write: true },
    { route: 'DELETE /machine-groups/{id}/vms/{vmId}', method: 'DELETE', url: `/machine-groups/${fx.G}/vms/${fx.V1}`, write: true },
    { route: 'PUT /vm-contexts/{id}/group', method: 'PUT', url: `/vm-contexts/${fx.V3}/group`, body: () => ({ group_id: fx.G }), write: true },
    { route: 'POST /vm-contexts', method: 'POST', url: '/vm-contexts', body: newVm, write: true },
    { route: 'GET /vm-contexts', method: 'GET', url: '/vm-contexts', write: false },
    { route: 'GET /vm-contexts/ungrouped', method: 'GET', url: '/vm-contexts/ungrouped', write: false },
    { route: 'GET /vm-contexts/{id}', method: 'GET', url: `/vm-contexts/${fx.V1}`, write: false },
    { route: 'POST /vm-contexts/{id}/status', method: 'POST', url: `/vm-contexts/${fx.V1}/status`, body: () => ({ status: 'replicating' }), write: true },
    { route: 'POST /vm-contexts/{id}/scheduler', method: 'POST', url: `/vm-contexts/${fx.V1}/scheduler`, body: () => ({ enabled: false }), write: true },
  ];

  // -- Auth: missing, malformed and unknown tokens (401), viewer on writes (403) -------
  const badAuth: Array<[string, string | undefined]> = [
    ['no Authorization header', undefined],
    ['Basic scheme', 'Basic b3BlcmF0b3I6b3BlcmF0b3ItdG9rZW4tMQ=='],
    ['Bearer without a token', 'Bearer'],
    ['Bearer with two words', `Bearer ${TOKENS.operator} extra`],
    ['token without scheme', TOKENS.operator],
    ['unknown token', 'Bearer not-a-configured-token'],
    ['token with a suffix', `Bearer ${TOKENS.operator}x`],
  ];
  for (const r of routes) {
    const variants = r.write ? badAuth : badAuth.slice(0, 3).concat(badAuth.slice(5, 6));
    for (const [what, header] of variants) {
      add({ route: r.route, category: 'auth 401', what, method: r.method, url: r.url, json: r.body?.(), token: null, ...(header !== undefined && { authorization: header }), expect: 401 });
    }
    if (r.write && !r.viewerMay) {
      add({ route: r.route, category: 'role 403', what: 'viewer token on a write', method: r.method, url: r.url, json: r.body?.(), token: TOKENS.viewer, expect: 403 });
    }
  }
  // Auth comes before the body is even parsed.
  add({ route: 'POST /schedules', category: 'auth 401', what: 'no token and broken JSON', method: 'POST', url: '/schedules', raw: '{"name":', contentType: 'application/json', token: null, expect: 401 });
  add({ route: 'POST /schedules', category: 'auth 401', what: 'no token and oversize body', method: 'POST', url: '/schedules', raw: oversizeBody(), contentType: 'application/json', token: null, expect: 401 });
  add({ route: 'PATCH /machine-groups/{id}', category: 'role 403', what: 'viewer token and invalid body', method: 'PATCH', url: `/machine-groups/${fx.G}`, json: { max_members: 'x' }, token: TOKENS.viewer, expect: 403 });

  // -- Bodies: wrong types, missing and unknown fields, ranges, per route ------------
  interface BodyRoute {
    route: string;
    method: HTTPMethods;
    url: string;
    fields: Record<string, FieldSpec>;
    /** A valid body each bad value is put into (update routes: empty, the bad field alone). */
    base: () => Record<string, unknown>;
    required: string[];
    token?: string;
  }
  const bodyRoutes: BodyRoute[] = [
    { route: 'POST /schedules', method: 'POST', url: '/schedules', fields: SCHEDULE_FIELDS, base: newSchedule, required: ['name'] },
    { route: 'PUT /schedules/{id}', method: 'PUT', url: `/schedules/${fx.S}`, fields: SCHEDULE_FIELDS, base: () => ({}), required: [] },
    { route: 'PATCH /schedules/{id}', method: 'PATCH', url: `/schedules/${fx.S}`, fields: SCHEDULE_FIELDS, base: () => ({}), required: [] },
    { route: 'POST /schedules/{id}/enable', method: 'POST', url: `/schedules/${fx.S}/enable`, fields: { enabled: bool }, base: () => ({ enabled: false }), required: ['enabled'] },
    {
      route: 'POST /schedules/preview',
      method: 'POST',
      url: '/schedules/preview',
      fields: { cron_expression: str(100), timezone: str(50), count: int(1, 100) },
      base: () => ({ cron_expression: '0 * * * *', timezone: 'UTC' }),
      required: ['cron_expression'],
      token: TOKENS.viewer,
    },
    { route: 'POST /machine-groups', method: 'POST', url: '/machine-groups', fields: GROUP_FIELDS, base: newGroup, required: ['name'] },
    { route: 'PUT /machine-groups/{id}', method: 'PUT', url: `/machine-groups/${fx.G}`, fields: GROUP_FIELDS, base: () => ({}), required: [] },
    { route: 'PATCH /machine-groups/{id}', method: 'PATCH', url: `/machine-groups/${fx.G}`, fields: GROUP_FIELDS, base: () => ({}), required: [] },
    {
      route: 'POST /machine-groups/{id}/vms',
      method: 'POST',
      url: `/machine-groups/${fx.G}/vms`,
      fields: { vm_context_id: id(), priority: PRIORITY, enabled: bool, move: bool, schedule_override_id: id(true) },
      base: () => ({ vm_context_id: fx.V3 }),
      required: [],
    },
    {
      route: 'PATCH /machine-groups/{id}/vms/{vmId}',
      method: 'PATCH',
      url: `/machine-groups/${fx.G}/vms/${fx.V1}`,
      fields: { priority: PRIORITY, enabled: bool, schedule_override_id: id(true) },
      base: () => ({}),
      required: [],
    },
    {
      route: 'PUT /vm-contexts/{id}/group',
      method: 'PUT',
      url: `/vm-contexts/${fx.V3}/group`,
      fields: { group_id: id(true), priority: PRIORITY, enabled: bool },
      base: () => ({ group_id: fx.G }),
      required: ['group_id'],
    },
    { route: 'POST /vm-contexts', method: 'POST', url: '/vm-contexts', fields: VM_FIELDS, base: newVm, required: ['vm_name', 'vmware_vm_id', 'vm_path', 'vcenter_host', 'datacenter'] },
    {
      route: 'POST /vm-contexts/{id}/status',
      method: 'POST',
      url: `/vm-contexts/${fx.V1}/status`,
      fields: { status: { kind: 'enum', values: VM_STATUSES }, reason: str(4000, { minLength: 0, nullable: true }) },
      base: () => ({ status: 'replicating' }),
      required: ['status'],
    },
    { route: 'POST /vm-contexts/{id}/scheduler', method: 'POST', url: `/vm-contexts/${fx.V1}/scheduler`, fields: { enabled: bool }, base: () => ({ enabled: false }), required: ['enabled'] },
  ];

  for (const r of bodyRoutes) {
    const body = (patch: Record<string, unknown>) => ({ ...r.base(), ...patch });
    const common = { route: r.route, method: r.method, url: r.url, ...(r.token && { token: r.token }) };
    for (const [field, spec] of Object.entries(r.fields)) {
      for (const [label, value] of wrongTypes(spec)) {
        add({ ...common, category: 'wrong type', what: `${field} = ${show(value)} (${label})`, json: body({ [field]: value }), expect: 400 });
      }
      for (const [category, label, value] of outOfRange(spec)) {
        add({ ...common, category, what: `${field} ${label}`, json: body({ [field]: value }), expect: 400 });
      }
    }
    for (const field of r.required) {
      const without = r.base();
      delete without[field];
      add({ ...common, category: 'missing field', what: `without ${field}`, json: without, expect: 400 });
    }
    if (r.required.length > 1) add({ ...common, category: 'missing field', what: 'empty object', json: {}, expect: 400 });
    if (r.required.length === 0 && r.route !== 'POST /machine-groups/{id}/vms') {
      add({ ...common, category: 'missing field', what: 'empty object (nothing to change)', json: {}, expect: 400 });
    }
    add({ ...common, category: 'unknown field', what: 'unknown field "bogus"', json: body({ bogus: 1 }), expect: 400 });
    add({ ...common, category: 'unknown field', what: 'read-only field "id"', json: body({ id: UNKNOWN }), expect: 400 });
    add({ ...common, category: 'unknown field', what: 'read-only field "created_at"', json: body({ created_at: '2026-01-01T00:00:00Z' }), expect: 400 });
    add({ ...common, category: 'unknown field', what: 'camelCase spelling of a field', json: body({ [camel(Object.keys(r.fields)[0]!)]: 'x' }), expect: 400 });

    // Not JSON, or not an object.
    const notJson: Array<[string, string | undefined, string | undefined, number]> = [
      ['text/plain body', 'hello', 'text/plain', 400],
      ['valid JSON sent as text/plain', JSON.stringify(r.base()), 'text/plain', 400],
      ['broken JSON', '{"name": "x",', 'application/json', 400],
      ['trailing garbage after JSON', `${JSON.stringify(r.base())} x`, 'application/json', 400],
      ['empty body with application/json', '', 'application/json', 400],
      ['no body at all', undefined, undefined, 400],
      ['JSON null', 'null', 'application/json', 400],
      ['JSON array', '[]', 'application/json', 400],
      ['JSON string', '"text"', 'application/json', 400],
      ['JSON number', '42', 'application/json', 400],
      ['XML body', '<schedule/>', 'application/xml', 400],
      ['form-encoded body', 'name=x', 'application/x-www-form-urlencoded', 400],
      ['__proto__ key', `{"__proto__":{"polluted":true},${JSON.stringify(r.base()).slice(1)}`, 'application/json', 400],
      ['constructor.prototype key', `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(r.base()).slice(1)}`, 'application/json', 400],
      ['oversize body (> 1 MiB)', oversizeBody(), 'application/json', 413],
    ];
    for (const [what, raw, contentType, expect] of notJson) {
      add({ ...common, category: expect === 413 ? 'oversize body' : 'not JSON', what, ...(raw !== undefined && { raw }), ...(contentType && { contentType }), expect });
    }
  }

  // -- The assignment body's own rules ----------------------------------------------
  const assign = { route: 'POST /machine-groups/{id}/vms', method: 'POST' as const, url: `/machine-groups/${fx.G}/vms` };
  const assignBodies: Array<[string, string, unknown]> = [
    ['missing field', 'neither vm_context_id nor vm_context_ids', { priority: 1 }],
    ['missing field', 'empty object', {}],
    ['bad value', 'both vm_context_id and vm_context_ids', { vm_context_id: fx.V3, vm_context_ids: [fx.V3] }],
    ['out of range', 'vm_context_ids empty', { vm_context_ids: [] }],
    ['bad value', 'vm_context_ids with duplicates', { vm_context_ids: [fx.V3, fx.V3] }],
    ['oversize array', 'vm_context_ids with 10001 items', { vm_context_ids: Array.from({ length: 10001 }, (_, i) => `vm${i}`) }],
    ['wrong type', 'vm_context_ids a string', { vm_context_ids: fx.V3 }],
    ['wrong type', 'vm_context_ids of numbers', { vm_context_ids: [1, 2] }],
    ['wrong type', 'vm_context_ids with null', { vm_context_ids: [null] }],
    ['bad id', 'vm_context_ids with a bad id', { vm_context_ids: [fx.V3, 'bad id!'] }],
    ['bad id', 'vm_context_ids with a 65-char id', { vm_context_ids: ['a'.repeat(65)] }],
    ['wrong type', 'vm_context_ids an object', { vm_context_ids: { 0: fx.V3 } }],
  ];
  for (const [category, what, json] of assignBodies) add({ ...assign, category, what, json, expect: 400 });

  // -- Lone UTF-16 surrogates: not text; must be refused, not stored mangled or a 500 -----
  const loneSurrogate = (payload: Record<string, unknown>, field: string) => JSON.stringify(payload).replace(`"${field}":"`, `"${field}":"\\ud800`);
  add({ route: 'POST /schedules', category: 'bad text', what: 'name with a lone surrogate', method: 'POST', url: '/schedules', raw: loneSurrogate(newSchedule(), 'name'), contentType: 'application/json', expect: 400 });
  add({ route: 'PATCH /schedules/{id}', category: 'bad text', what: 'description with a lone surrogate', method: 'PATCH', url: `/schedules/${fx.S}`, raw: '{"description":"x\\udfff"}', contentType: 'application/json', expect: 400 });
  add({ route: 'POST /machine-groups', category: 'bad text', what: 'name with a lone surrogate', method: 'POST', url: '/machine-groups', raw: loneSurrogate(newGroup(), 'name'), contentType: 'application/json', expect: 400 });
  add({ route: 'POST /vm-contexts', category: 'bad text', what: 'vm_name with a lone surrogate', method: 'POST', url: '/vm-contexts', raw: loneSurrogate(newVm(), 'vm_name'), contentType: 'application/json', expect: 400 });

  // -- Cron expressions and time zones --------------------------------------------
  const badCrons: Array<[string, string]> = [
    ['4 fields', '* * * *'],
    ['7 fields', '0 0 * * * * *'],
    ['minute 61', '61 * * * *'],
    ['hour 24', '0 24 * * *'],
    ['day of month 32', '0 0 32 * *'],
    ['month 13', '0 0 1 13 *'],
    ['day of week 8', '0 0 * * 8'],
    ['second 60 (6 fields)', '60 0 * * * *'],
    ['step 0', '*/0 * * * *'],
    ['letters in a range', '0 0 * * 5-1x'],
    ['garbage', 'garbage'],
    ['a sentence', 'every day at noon'],
    ['blanks only', '   '],
    ['macro', '@daily'],
    ['never-existing date (Feb 31)', '0 0 31 2 *'],
    ['101 chars', `0 0 * * ${'1,'.repeat(46)}1`],
  ];
  const badZones: Array<[string, string]> = [
    ['Mars/Olympus', 'Mars/Olympus'],
    ['offset +02:00', '+02:00'],
    ['UTC+2', 'UTC+2'],
    ['misspelt Europe/Londn', 'Europe/Londn'],
    ['a sentence', 'my time zone'],
    ['51 chars', `Europe/${'x'.repeat(44)}`],
    ['empty', ''],
  ];
  for (const [what, cron] of badCrons) {
    add({ route: 'POST /schedules', category: 'bad cron', what, method: 'POST', url: '/schedules', json: { ...newSchedule(), cron_expression: cron }, expect: 400 });
    add({ route: 'PATCH /schedules/{id}', category: 'bad cron', what, method: 'PATCH', url: `/schedules/${fx.S}`, json: { cron_expression: cron }, expect: 400 });
    add({ route: 'POST /schedules/preview', category: 'bad cron', what, method: 'POST', url: '/schedules/preview', json: { cron_expression: cron, timezone: 'UTC' }, token: TOKENS.viewer, expect: 400 });
  }
  for (const [what, timezone] of badZones) {
    add({ route: 'POST /schedules', category: 'bad time zone', what, method: 'POST', url: '/schedules', json: { ...newSchedule(), timezone }, expect: 400 });
    add({ route: 'PUT /schedules/{id}', category: 'bad time zone', what, method: 'PUT', url: `/schedules/${fx.S}`, json: { timezone }, expect: 400 });
    add({ route: 'POST /schedules/preview', category: 'bad time zone', what, method: 'POST', url: '/schedules/preview', json: { cron_expression: '0 * * * *', timezone }, token: TOKENS.viewer, expect: 400 });
  }
  add({ route: 'POST /schedules/preview', category: 'missing field', what: 'timezone only', method: 'POST', url: '/schedules/preview', json: { timezone: 'UTC' }, token: TOKENS.viewer, expect: 400 });

  // -- Ids in the path: bad characters, too long, unknown ---------------------------
  interface IdRoute {
    route: string;
    method: HTTPMethods;
    url: (id: string) => string;
    body?: () => unknown;
  }
  const idRoutes: IdRoute[] = [
    { route: 'GET /schedules/{id}', method: 'GET', url: (i) => `/schedules/${i}` },
    { route: 'PUT /schedules/{id}', method: 'PUT', url: (i) => `/schedules/${i}`, body: () => ({ description: 'changed' }) },
    { route: 'PATCH /schedules/{id}', method: 'PATCH', url: (i) => `/schedules/${i}`, body: () => ({ description: 'changed' }) },
    { route: 'DELETE /schedules/{id}', method: 'DELETE', url: (i) => `/schedules/${i}` },
    { route: 'POST /schedules/{id}/enable', method: 'POST', url: (i) => `/schedules/${i}/enable`, body: () => ({ enabled: false }) },
    { route: 'GET /schedules/{id}/next-runs', method: 'GET', url: (i) => `/schedules/${i}/next-runs` },
    { route: 'GET /schedules/{id}/history', method: 'GET', url: (i) => `/schedules/${i}/history` },
    { route: 'GET /machine-groups/{id}', method: 'GET', url: (i) => `/machine-groups/${i}` },
    { route: 'PUT /machine-groups/{id}', method: 'PUT', url: (i) => `/machine-groups/${i}`, body: () => ({ description: 'changed' }) },
    { route: 'PATCH /machine-groups/{id}', method: 'PATCH', url: (i) => `/machine-groups/${i}`, body: () => ({ description: 'changed' }) },
    { route: 'DELETE /machine-groups/{id}', method: 'DELETE', url: (i) => `/machine-groups/${i}` },
    { route: 'POST /machine-groups/{id}/vms', method: 'POST', url: (i) => `/machine-groups/${i}/vms`, body: () => ({ vm_context_id: fx.V3 }) },
    { route: 'GET /machine-groups/{id}/vms', method: 'GET', url: (i) => `/machine-groups/${i}/vms` },
    { route: 'PATCH /machine-groups/{id}/vms/{vmId}', method: 'PATCH', url: (i) => `/machine-groups/${i}/vms/${fx.V1}`, body: () => ({ priority: 5 }) },
    { route: 'PATCH /machine-groups/{id}/vms/{vmId}', method: 'PATCH', url: (i) => `/machine-groups/${fx.G}/vms/${i}`, body: () => ({ priority: 5 }) },
    { route: 'DELETE /machine-groups/{id}/vms/{vmId}', method: 'DELETE', url: (i) => `/machine-groups/${i}/vms/${fx.V1}` },
    { route: 'DELETE /machine-groups/{id}/vms/{vmId}', method: 'DELETE', url: (i) => `/machine-groups/${fx.G}/vms/${i}` },
    { route: 'PUT /vm-contexts/{id}/group', method: 'PUT', url: (i) => `/vm-contexts/${i}/group`, body: () => ({ group_id: fx.G }) },
    { route: 'GET /vm-contexts/{id}', method: 'GET', url: (i) => `/vm-contexts/${i}` },
    { route: 'POST /vm-contexts/{id}/status', method: 'POST', url: (i) => `/vm-contexts/${i}/status`, body: () => ({ status: 'replicating' }) },
    { route: 'POST /vm-contexts/{id}/scheduler', method: 'POST', url: (i) => `/vm-contexts/${i}/scheduler`, body: () => ({ enabled: false }) },
  ];
  const badIds: Array<[string, string, number]> = [
    ['bad characters (!)', 'bad!id', 400],
    ['bad characters (.)', 'a.b', 400],
    ['encoded blank', 'a%20b', 400],
    ['encoded slash', 'a%2Fb', 400],
    ['encoded NUL', 'a%00', 400],
    ['65 chars', 'a'.repeat(65), 400],
    ['unknown id', UNKNOWN, 404],
  ];
  for (const r of idRoutes) {
    const which = r.url('{}').includes(`/vms/{}`) ? ' (vmId)' : '';
    for (const [what, value, expect] of badIds) {
      add({ route: r.route, category: expect === 404 ? 'unknown id' : 'bad id', what: `${what}${which}`, method: r.method, url: r.url(value), json: r.body?.(), expect });
    }
  }
  // Longer than the router's parameter limit, and not decodable at all: still 400 in the error shape.
  for (const r of [idRoutes[0]!, idRoutes[9]!, idRoutes[19]!]) {
    add({ route: r.route, category: 'bad id', what: '101 chars', method: r.method, url: r.url('a'.repeat(101)), json: r.body?.(), expect: 400 });
    add({ route: r.route, category: 'bad id', what: '300 chars', method: r.method, url: r.url('b'.repeat(300)), json: r.body?.(), expect: 400 });
  }
  for (const r of [idRoutes[0]!, idRoutes[18]!]) {
    add({ route: r.route, category: 'bad id', what: 'broken percent-encoding', method: r.method, url: r.url('%E0%A4%A'), json: r.body?.(), expect: 400 });
  }
  add({ route: 'PUT /vm-contexts/{id}/group', category: 'unknown id', what: 'unknown VM taken out of its group (group_id null)', method: 'PUT', url: `/vm-contexts/${UNKNOWN}/group`, json: { group_id: null }, expect: 404 });
  add({ route: 'PUT /vm-contexts/{id}/group', category: 'unknown id', what: 'unknown group_id in the body', method: 'PUT', url: `/vm-contexts/${fx.V3}/group`, json: { group_id: UNKNOWN }, expect: 404 });
  add({ route: 'POST /machine-groups/{id}/vms', category: 'unknown id', what: 'unknown vm_context_id in the body', method: 'POST', url: `/machine-groups/${fx.G}/vms`, json: { vm_context_id: UNKNOWN }, expect: 404 });

  // -- Unknown routes ------------------------------------------------------------
  const unknownRoutes: Array<[HTTPMethods, string]> = [
    ['GET', '/nothing-here'],
    ['DELETE', '/schedules'],
    ['PUT', '/schedules'],
    ['PATCH', `/vm-contexts/${fx.V1}`],
    ['DELETE', `/vm-contexts/${fx.V1}`],
    ['POST', `/schedules/${fx.S}`],
    ['GET', '/api/v2/schedules'],
  ];
  for (const [method, url] of unknownRoutes) add({ route: `${method} ${url.replace(/[a-z0-9]{21}/g, '{id}')}`, category: 'unknown route', what: 'no such route', method, url, json: method === 'GET' || method === 'DELETE' ? undefined : {}, expect: 404 });

  // -- Query strings ------------------------------------------------------------
  const queries: Array<[string, string, string, number]> = [
    ['GET /schedules', '/schedules', 'enabled_only=maybe', 400],
    ['GET /schedules', '/schedules', 'enabled_only=', 400],
    ['GET /schedules', '/schedules', 'foo=1', 400],
    ['GET /schedules', '/schedules', 'limit=0', 400],
    ['GET /schedules', '/schedules', 'limit=501', 400],
    ['GET /schedules', '/schedules', 'page=0', 400],
    ['GET /machine-groups', '/machine-groups', 'schedule_id=bad!id', 400],
    ['GET /machine-groups', '/machine-groups', `schedule_id=${'a'.repeat(65)}`, 400],
    ['GET /machine-groups', '/machine-groups', 'schedule_id=', 400],
    ['GET /machine-groups', '/machine-groups', 'foo=1', 400],
    ['GET /machine-groups', '/machine-groups', 'limit=0', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=0', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=501', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=-1', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=abc', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=1.5', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=1e3', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=1&limit=2', 400],
    ['GET /vm-contexts', '/vm-contexts', 'page=0', 400],
    ['GET /vm-contexts', '/vm-contexts', 'page=-3', 400],
    ['GET /vm-contexts', '/vm-contexts', 'page=abc', 400],
    ['GET /vm-contexts', '/vm-contexts', 'page=2.5', 400],
    ['GET /vm-contexts', '/vm-contexts', 'page=1000001', 400],
    ['GET /vm-contexts', '/vm-contexts', 'status=bogus', 400],
    ['GET /vm-contexts', '/vm-contexts', 'status=REPLICATING', 400],
    ['GET /vm-contexts', '/vm-contexts', 'ungrouped=maybe', 400],
    ['GET /vm-contexts', '/vm-contexts', 'group_id=bad!id', 400],
    ['GET /vm-contexts', '/vm-contexts', 'search=', 400],
    ['GET /vm-contexts', '/vm-contexts', `search=${'s'.repeat(256)}`, 400],
    ['GET /vm-contexts', '/vm-contexts', 'foo=1', 400],
    ['GET /vm-contexts', '/vm-contexts', 'limit=%ZZ', 400],
    ['GET /vm-contexts/ungrouped', '/vm-contexts/ungrouped', 'foo=1', 400],
    ['GET /vm-contexts/ungrouped', '/vm-contexts/ungrouped', 'limit=0', 400],
    ['GET /schedules/{id}/next-runs', `/schedules/${fx.S}/next-runs`, 'count=0', 400],
    ['GET /schedules/{id}/next-runs', `/schedules/${fx.S}/next-runs`, 'count=101', 400],
    ['GET /schedules/{id}/next-runs', `/schedules/${fx.S}/next-runs`, 'count=abc', 400],
    ['GET /schedules/{id}/next-runs', `/schedules/${fx.S}/next-runs`, 'count=2.5', 400],
    ['GET /schedules/{id}/next-runs', `/schedules/${fx.S}/next-runs`, 'count=-1', 400],
    ['GET /schedules/{id}/next-runs', `/schedules/${fx.S}/next-runs`, 'count=1&count=2', 400],
    ['GET /schedules/{id}/next-runs', `/schedules/${fx.S}/next-runs`, 'foo=1', 400],
    ['GET /schedules/{id}/history', `/schedules/${fx.S}/history`, 'limit=0', 400],
    ['GET /schedules/{id}/history', `/schedules/${fx.S}/history`, 'limit=501', 400],
    ['GET /schedules/{id}/history', `/schedules/${fx.S}/history`, 'limit=abc', 400],
    ['GET /schedules/{id}/history', `/schedules/${fx.S}/history`, 'after_position=abc', 400],
    ['GET /schedules/{id}/history', `/schedules/${fx.S}/history`, 'after_position=/', 400],
    ['GET /schedules/{id}/history', `/schedules/${fx.S}/history`, `after_position=${'1'.repeat(65)}`, 400],
    ['GET /schedules/{id}/history', `/schedules/${fx.S}/history`, 'foo=1', 400],
    ['DELETE /machine-groups/{id}', `/machine-groups/${fx.GE}`, 'unassign_members=maybe', 400],
    ['DELETE /machine-groups/{id}', `/machine-groups/${fx.GE}`, 'unassign_members=', 400],
    ['DELETE /machine-groups/{id}', `/machine-groups/${fx.GE}`, 'foo=1', 400],
  ];
  for (const [route, path, query, expect] of queries) {
    add({ route, category: 'bad query', what: query.length > 40 ? `${query.slice(0, 30)}...` : query, method: route.startsWith('DELETE') ? 'DELETE' : 'GET', url: `${path}?${query}`, expect });
  }

  // -- Domain refusals ----------------------------------------------------------
  const domain = (route: string, what: string, method: HTTPMethods, url: string, json: unknown, expect: number | number[]) =>
    add({ route, category: 'domain refusal', what, method, url, json, expect });
  domain('POST /schedules', 'chain schedule without a parent', 'POST', '/schedules', { name: unique('chain'), schedule_type: 'chain' }, 400);
  domain('POST /schedules', 'chain schedule with an unknown parent', 'POST', '/schedules', { name: unique('chain'), schedule_type: 'chain', chain_parent_schedule_id: UNKNOWN }, 400);
  domain('POST /schedules', 'chain schedule with a cron expression', 'POST', '/schedules', { name: unique('chain'), schedule_type: 'chain', chain_parent_schedule_id: fx.S, cron_expression: '0 * * * *' }, 400);
  domain('POST /schedules', 'cron schedule with a chain parent', 'POST', '/schedules', { ...newSchedule(), chain_parent_schedule_id: fx.S }, 400);
  domain('POST /schedules', 'cron schedule without a cron expression', 'POST', '/schedules', { name: unique('cron') }, 400);
  domain('POST /schedules', 'cron schedule with a null cron expression', 'POST', '/schedules', { name: unique('cron'), cron_expression: null }, 400);
  domain('POST /schedules', 'name of blanks only', 'POST', '/schedules', { name: '   ', cron_expression: '0 * * * *' }, 400);
  domain('POST /schedules', 'name taken (other case, blanks around)', 'POST', '/schedules', { name: `  ${fx.sName.toUpperCase()} `, cron_expression: '0 * * * *' }, 409);
  domain('PATCH /schedules/{id}', 'self-cycle (follows itself)', 'PATCH', `/schedules/${fx.S}`, { schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: fx.S }, 409);
  domain('PATCH /schedules/{id}', 'self-cycle of a chain schedule', 'PATCH', `/schedules/${fx.C}`, { chain_parent_schedule_id: fx.C }, 409);
  domain('PATCH /schedules/{id}', 'two-schedule cycle (S follows its own child C)', 'PATCH', `/schedules/${fx.S}`, { schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: fx.C }, 409);
  domain('PUT /schedules/{id}', 'two-schedule cycle with a rename', 'PUT', `/schedules/${fx.S}`, { name: unique('renamed'), schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: fx.C }, 409);
  domain('PATCH /schedules/{id}', 'chain parent unknown', 'PATCH', `/schedules/${fx.C}`, { chain_parent_schedule_id: UNKNOWN }, 400);
  domain('PATCH /schedules/{id}', 'chain schedule given a cron expression', 'PATCH', `/schedules/${fx.C}`, { cron_expression: '0 * * * *' }, 400);
  domain('PATCH /schedules/{id}', 'cron schedule given a chain parent', 'PATCH', `/schedules/${fx.S}`, { chain_parent_schedule_id: fx.C }, 400);
  domain('PATCH /schedules/{id}', 'cron expression removed from a cron schedule', 'PATCH', `/schedules/${fx.S}`, { cron_expression: null }, 400);
  domain('PATCH /schedules/{id}', 'chain schedule turned cron without a cron expression', 'PATCH', `/schedules/${fx.C}`, { schedule_type: 'cron' }, 400);
  domain('PATCH /schedules/{id}', 'rename to a taken name', 'PATCH', `/schedules/${fx.C}`, { name: fx.sName.toLowerCase() }, 409);
  domain('PATCH /schedules/{id}', 'rename to blanks', 'PATCH', `/schedules/${fx.S}`, { name: '  ' }, 400);
  domain('DELETE /schedules/{id}', 'schedule still referenced by a group and a chain', 'DELETE', `/schedules/${fx.S}`, undefined, 409);
  domain('POST /machine-groups', 'name taken', 'POST', '/machine-groups', { name: fx.gName.toUpperCase() }, 409);
  domain('POST /machine-groups', 'unknown schedule_id', 'POST', '/machine-groups', { ...newGroup(), schedule_id: UNKNOWN }, 400);
  domain('POST /machine-groups', 'name of blanks only', 'POST', '/machine-groups', { name: ' \t ' }, 400);
  domain('PATCH /machine-groups/{id}', 'rename to a taken name', 'PATCH', `/machine-groups/${fx.GF}`, { name: fx.gName }, 409);
  domain('PATCH /machine-groups/{id}', 'unknown schedule_id', 'PATCH', `/machine-groups/${fx.G}`, { schedule_id: UNKNOWN }, 400);
  domain('DELETE /machine-groups/{id}', 'group with members, without unassign_members', 'DELETE', `/machine-groups/${fx.G}`, undefined, 409);
  domain('DELETE /machine-groups/{id}', 'group with members, unassign_members=false', 'DELETE', `/machine-groups/${fx.G}?unassign_members=false`, undefined, 409);
  domain('POST /machine-groups/{id}/vms', 'VM already in another group, no move', 'POST', `/machine-groups/${fx.GF}/vms`, { vm_context_id: fx.V1 }, 409);
  domain('POST /machine-groups/{id}/vms', 'group full (max_members)', 'POST', `/machine-groups/${fx.GF}/vms`, { vm_context_id: fx.V3 }, 409);
  domain('POST /machine-groups/{id}/vms', 'unknown schedule_override_id', 'POST', `/machine-groups/${fx.G}/vms`, { vm_context_id: fx.V3, schedule_override_id: UNKNOWN }, 400);
  domain('PATCH /machine-groups/{id}/vms/{vmId}', 'VM not a member of this group', 'PATCH', `/machine-groups/${fx.GF}/vms/${fx.V1}`, { priority: 1 }, 404);
  domain('PATCH /machine-groups/{id}/vms/{vmId}', 'VM in no group', 'PATCH', `/machine-groups/${fx.G}/vms/${fx.V3}`, { priority: 1 }, 404);
  domain('PATCH /machine-groups/{id}/vms/{vmId}', 'unknown schedule_override_id', 'PATCH', `/machine-groups/${fx.G}/vms/${fx.V1}`, { schedule_override_id: UNKNOWN }, 400);
  domain('DELETE /machine-groups/{id}/vms/{vmId}', 'VM not a member of this group', 'DELETE', `/machine-groups/${fx.GF}/vms/${fx.V1}`, undefined, 404);
  domain('DELETE /machine-groups/{id}/vms/{vmId}', 'VM in no group', 'DELETE', `/machine-groups/${fx.G}/vms/${fx.V3}`, undefined, 404);
  domain('PUT /vm-contexts/{id}/group', 'target group full', 'PUT', `/vm-contexts/${fx.V3}/group`, { group_id: fx.GF }, 409);
  domain('POST /vm-contexts', 'same (vcenter_host, vmware_vm_id) again', 'POST', '/vm-contexts', { ...newVm(), ...fx.v1Identity }, 409);
  domain('POST /vm-contexts', 'same identity, vCenter host in other case', 'POST', '/vm-contexts', { ...newVm(), vcenter_host: fx.v1Identity.vcenter_host.toUpperCase(), vmware_vm_id: fx.v1Identity.vmware_vm_id }, 409);
  domain('POST /vm-contexts', 'vm_name of blanks only', 'POST', '/vm-contexts', { ...newVm(), vm_name: '   ' }, 400);
  domain('POST /vm-contexts', 'vmware_vm_id of blanks only', 'POST', '/vm-contexts', { ...newVm(), vmware_vm_id: '  ' }, 400);

  // -- Headers: Idempotency-Key, X-Request-Id, content types ------------------------
  add({ route: 'POST /schedules', category: 'idempotency', what: 'key reused with a different body', method: 'POST', url: '/schedules', json: newSchedule(), headers: { 'idempotency-key': fx.usedKey }, expect: 409 });
  add({ route: 'POST /schedules', category: 'idempotency', what: 'key with a blank', method: 'POST', url: '/schedules', json: newSchedule(), headers: { 'idempotency-key': 'a b' }, expect: 400 });
  add({ route: 'POST /schedules', category: 'idempotency', what: 'empty key', method: 'POST', url: '/schedules', json: newSchedule(), headers: { 'idempotency-key': '' }, expect: 400 });
  add({ route: 'POST /schedules', category: 'idempotency', what: 'key of 256 chars', method: 'POST', url: '/schedules', json: newSchedule(), headers: { 'idempotency-key': 'k'.repeat(256) }, expect: 400 });
  add({ route: 'POST /machine-groups', category: 'idempotency', what: 'key with a non-ASCII char', method: 'POST', url: '/machine-groups', json: newGroup(), headers: { 'idempotency-key': 'cl\u00e9' }, expect: 400 });
  add({ route: 'POST /schedules', category: 'idempotency', what: 'refused request replayed with its key', method: 'POST', url: '/schedules', json: { name: unique('chain'), schedule_type: 'chain' }, headers: { 'idempotency-key': 'replayed-refusal-1' }, expect: 400, times: 2 });
  add({ route: 'POST /schedules', category: 'request id', what: 'given X-Request-Id is echoed', method: 'POST', url: '/schedules', json: { name: unique('chain'), schedule_type: 'chain' }, headers: { 'x-request-id': 'client-req.42:a' }, expect: 400 });
  add({ route: 'POST /schedules', category: 'request id', what: 'unusable X-Request-Id is replaced', method: 'POST', url: '/schedules', json: { name: unique('chain'), schedule_type: 'chain' }, headers: { 'x-request-id': 'bad id with blanks' }, expect: 400 });
  add({ route: 'GET /schedules/{id}', category: 'request id', what: 'X-Request-Id of 129 chars is replaced', method: 'GET', url: `/schedules/${UNKNOWN}`, headers: { 'x-request-id': 'r'.repeat(129) }, expect: 404 });
  add({ route: 'POST /schedules', category: 'auth 401', what: 'given X-Request-Id on a 401', method: 'POST', url: '/schedules', json: newSchedule(), token: null, headers: { 'x-request-id': 'client-req-401' }, expect: 401 });
  add({ route: 'POST /schedules', category: 'admin', what: 'admin token, invalid body', method: 'POST', url: '/schedules', json: { name: 5 }, token: TOKENS.admin, expect: 400 });
  add({ route: 'PATCH /machine-groups/{id}', category: 'admin', what: 'admin token, unknown group', method: 'PATCH', url: `/machine-groups/${UNKNOWN}`, json: { priority: 1 }, token: TOKENS.admin, expect: 404 });

  return cases;
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()) + (snake.includes('_') ? '' : 'X');
}

function oversizeBody(): string {
  return JSON.stringify({ name: 'big', description: 'x'.repeat(1024 * 1024 + 16) });
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

const service = await startTestService('sqlite', { API_TOKENS });
after(async () => service.dispose());

let requestsSent = 0;

interface Sent {
  status: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
}

async function send(c: Pick<Case, 'method' | 'url' | 'token' | 'authorization' | 'json' | 'raw' | 'contentType' | 'headers'>): Promise<Sent> {
  const headers: Record<string, string> = {};
  const token = c.token === undefined ? TOKENS.operator : c.token;
  if (c.authorization !== undefined) headers.authorization = c.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (c.raw !== undefined) {
    payload = c.raw;
    if (c.contentType) headers['content-type'] = c.contentType;
  } else if (c.json !== undefined) {
    payload = JSON.stringify(c.json);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, c.headers);
  const url = c.url.startsWith('/api/') ? c.url : `${API}${c.url}`;
  requestsSent += 1;
  const response = await service.app.inject({ method: c.method, url, headers, ...(payload !== undefined && { payload }) });
  return { status: response.statusCode, body: response.body, headers: response.headers };
}

/** A fixture write: must succeed; returns its JSON answer. */
async function create(method: HTTPMethods, url: string, json: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const answer = await send({ method, url, json, headers });
  assert.ok(answer.status >= 200 && answer.status < 300, `fixture ${method} ${url} answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as Record<string, unknown>;
}

async function createFixtures(): Promise<Fixtures> {
  const sName = 'Fixture Nightly';
  const S = String((await create('POST', '/schedules', { name: sName, cron_expression: '0 2 * * *', timezone: 'Europe/London' })).id);
  const C = String((await create('POST', '/schedules', { name: 'Fixture Follower', schedule_type: 'chain', chain_parent_schedule_id: S })).id);
  const usedKey = 'fixture-key-1';
  const D = String((await create('POST', '/schedules', { name: 'Fixture Spare', cron_expression: '0 3 * * *' }, { 'idempotency-key': usedKey })).id);
  const gName = 'Fixture Group';
  const G = String((await create('POST', '/machine-groups', { name: gName, schedule_id: S })).id);
  const GF = String((await create('POST', '/machine-groups', { name: 'Fixture Full Group', max_members: 1 })).id);
  const GE = String((await create('POST', '/machine-groups', { name: 'Fixture Empty Group' })).id);
  const vm = (n: number) => ({ vm_name: `fixture-vm-${n}`, vmware_vm_id: `vm-${n}00`, vm_path: `/dc1/vm/fixture-${n}`, vcenter_host: 'vc1.example', datacenter: 'dc1' });
  const V1 = String((await create('POST', '/vm-contexts', vm(1))).context_id);
  const V2 = String((await create('POST', '/vm-contexts', vm(2))).context_id);
  const V3 = String((await create('POST', '/vm-contexts', vm(3))).context_id);
  await create('POST', `/machine-groups/${G}/vms`, { vm_context_id: V1 });
  await create('POST', `/machine-groups/${GF}/vms`, { vm_context_id: V2 });
  return { S, sName, C, D, G, gName, GF, GE, V1, V2, V3, v1Identity: { vcenter_host: 'vc1.example', vmware_vm_id: 'vm-100' }, usedKey };
}

const fixtures = await createFixtures();
const fixtureRequests = requestsSent;
const logAtStart = await logLength(service);
const cases = buildCases(fixtures);
const counts = new Map<string, Map<string, number>>();

/** Checks one answer: status, error shape, kind matching status, request id header. */
function checkAnswer(c: Case, answer: Sent): void {
  const expected = typeof c.expect === 'number' ? [c.expect] : c.expect;
  const label = `${c.method} ${c.url.length > 100 ? `${c.url.slice(0, 100)}...` : c.url}`;
  assert.ok(answer.status >= 400 && answer.status < 500, `${label}: expected 4xx, got ${answer.status}: ${answer.body.slice(0, 300)}`);
  assert.ok(expected.includes(answer.status), `${label}: expected ${expected.join(' or ')}, got ${answer.status}: ${answer.body.slice(0, 300)}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    assert.fail(`${label}: body is not JSON: ${answer.body.slice(0, 200)}`);
  }
  assert.match(String(answer.headers['content-type'] ?? ''), /^application\/json/, `${label}: content-type`);
  const extra = Object.keys(body).filter((key) => !['error', 'message', 'request_id', 'details'].includes(key));
  assert.deepEqual(extra, [], `${label}: fields outside the error shape: ${answer.body.slice(0, 300)}`);
  assert.equal(typeof body.error, 'string', `${label}: error kind missing: ${answer.body.slice(0, 300)}`);
  assert.ok(String(body.error) in STATUS_OF_KIND, `${label}: unknown error kind ${String(body.error)}`);
  assert.equal(STATUS_OF_KIND[String(body.error)], answer.status, `${label}: kind ${String(body.error)} does not go with status ${answer.status}`);
  assert.equal(typeof body.message, 'string', `${label}: message must be a string`);
  assert.ok(String(body.message).length > 0, `${label}: message is empty`);
  assert.equal(typeof body.request_id, 'string', `${label}: request_id must be a string`);
  assert.ok(String(body.request_id).length > 0, `${label}: request_id is empty`);
  if (body.details !== undefined) {
    assert.ok(Array.isArray(body.details), `${label}: details must be an array`);
    for (const detail of body.details as unknown[]) {
      assert.ok(detail !== null && typeof detail === 'object', `${label}: a detail must be an object`);
      const { path, message, ...rest } = detail as Record<string, unknown>;
      assert.equal(typeof path, 'string', `${label}: detail path must be a string`);
      assert.equal(typeof message, 'string', `${label}: detail message must be a string`);
      assert.deepEqual(Object.keys(rest), [], `${label}: detail has fields besides path and message`);
    }
  }
  assert.equal(answer.headers['x-request-id'], body.request_id, `${label}: x-request-id header ${String(answer.headers['x-request-id'])} != request_id ${String(body.request_id)}`);
  const given = c.headers?.['x-request-id'];
  if (given !== undefined) {
    if (/^[A-Za-z0-9._:-]{1,128}$/.test(given)) assert.equal(body.request_id, given, `${label}: the caller's X-Request-Id is not echoed`);
    else assert.notEqual(body.request_id, given, `${label}: an unusable X-Request-Id was taken as it is`);
  }
}

describe('malformed requests: 4xx in the error shape, nothing appended', () => {
  for (const c of cases) {
    it(`${c.route} | ${c.category} | ${c.what}`, async () => {
      const byCategory = counts.get(c.route) ?? new Map<string, number>();
      counts.set(c.route, byCategory);
      byCategory.set(c.category, (byCategory.get(c.category) ?? 0) + (c.times ?? 1));
      const before = await logLength(service);
      for (let i = 0; i < (c.times ?? 1); i++) checkAnswer(c, await send(c));
      const grown = (await logLength(service)) - before;
      assert.equal(grown, 0, `the request appended ${grown} event(s) to the log`);
    });
  }

  it('appended nothing in all, after at least 300 malformed requests', async (t) => {
    const malformed = requestsSent - fixtureRequests;
    const lines = [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, byCategory]) => {
        const total = [...byCategory.values()].reduce((sum, n) => sum + n, 0);
        const parts = [...byCategory.entries()].map(([category, n]) => `${category} ${n}`).join(', ');
        return `${route}: ${total} (${parts})`;
      });
    t.diagnostic(`${malformed} malformed requests over ${counts.size} routes`);
    for (const line of lines) t.diagnostic(line);
    assert.ok(malformed >= 300, `only ${malformed} malformed requests were sent`);
    assert.equal(await logLength(service), logAtStart, 'the malformed requests appended events to the log');
  });
});

describe('controls: the well-formed counterparts of the refused queries and previews are answered 200', () => {
  const controls: Array<[string, string, unknown?]> = [
    ['GET', '/vm-contexts?limit=500&page=1&status=discovered&ungrouped=true&search=fixture'],
    ['GET', '/vm-contexts?limit=1&page=1000000'],
    ['GET', '/schedules?enabled_only=true'],
    ['GET', `/machine-groups?schedule_id=${fixtures.S}`],
    ['GET', `/schedules/${fixtures.S}/next-runs?count=100`],
    ['GET', `/schedules/${fixtures.S}/history?limit=500&after_position=0`],
    ['POST', '/schedules/preview', { cron_expression: '0 0 * * 1-5', timezone: 'Europe/London', count: 100 }],
    ['POST', '/schedules/preview', { cron_expression: '30 0 2 * * *' }],
  ];
  for (const [method, url, json] of controls) {
    it(`${method} ${url}${json === undefined ? '' : ` ${JSON.stringify(json)}`}`, async () => {
      const answer = await send({ method: method as HTTPMethods, url, json, token: TOKENS.viewer });
      assert.equal(answer.status, 200, answer.body.slice(0, 300));
    });
  }
});
