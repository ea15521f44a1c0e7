/**
 * Configuration from the environment. A bad value stops start-up with a message
 * that names the variable (ConfigError), before anything is opened.
 */
import { isIP } from 'node:net';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

export interface ApiToken {
  name: string;
  role: Role;
  token: string;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  eventstoreUrl: string | null;
  databaseUrl: string | null;
  apiTokens: ApiToken[];
  logLevel: string;
  /** Upper bound of the read-your-writes wait of HTTP writes. */
  readYourWritesTimeoutMs: number;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

function urlWithScheme(env: NodeJS.ProcessEnv, name: string, schemes: string[]): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a valid URL (expected ${schemes.map((s) => `${s}//...`).join(' or ')})`);
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new ConfigError(name, `unsupported scheme "${parsed.protocol}" (expected ${schemes.join(' or ')})`);
  }
  return raw;
}

/** `name:role:token` entries, comma separated. Token values are never echoed in errors. */
export function parseApiTokens(raw: string | undefined): ApiToken[] {
  if (!raw || raw.trim() === '') return [];
  const tokens: ApiToken[] = [];
  const names = new Set<string>();
  for (const [index, entry] of raw.split(',').entries()) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const [name, role, ...rest] = trimmed.split(':');
    const token = rest.join(':');
    if (!name || !role || !token) {
      throw new ConfigError('API_TOKENS', `entry ${index + 1} is not name:role:token`);
    }
    if (!ROLES.includes(role as Role)) {
      throw new ConfigError('API_TOKENS', `entry ${index + 1} ("${name}") has unknown role "${role}" (expected ${ROLES.join(', ')})`);
    }
    if (token.length < 8) throw new ConfigError('API_TOKENS', `entry ${index + 1} ("${name}") has a token shorter than 8 characters`);
    if (names.has(name)) throw new ConfigError('API_TOKENS', `name "${name}" appears twice`);
    names.add(name);
    tokens.push({ name, role: role as Role, token });
  }
  return tokens;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const host = env.HOST?.trim() || '127.0.0.1';
  const apiTokens = parseApiTokens(env.API_TOKENS);
  if (apiTokens.length === 0 && !isLoopbackHost(host)) {
    throw new ConfigError('HOST', `refusing to listen on non-loopback host "${host}" without API_TOKENS (auth would be off)`);
  }
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const dataDir = env.DATA_DIR?.trim() || './data';
  return {
    host,
    port: integer(env, 'PORT', 8080, 0, 65535),
    dataDir,
    eventstoreUrl: urlWithScheme(env, 'EVENTSTORE_URL', ['esdb:', 'esdb+discover:']),
    // knex speaks mysql://; mariadb:// is accepted as the same thing.
    databaseUrl: urlWithScheme(env, 'DATABASE_URL', ['mysql:', 'mariadb:'])?.replace(/^mariadb:/, 'mysql:') ?? null,
    apiTokens,
    logLevel,
    readYourWritesTimeoutMs: integer(env, 'READ_YOUR_WRITES_TIMEOUT_MS', 5000, 0, 60000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1048576, 1024, 104857600),
  };
}
