/**
 * Configuration of the replication gateway from the environment. Every address,
 * credential and timeout comes from here (old bugs: hard-coded token, vCenter
 * password, `ossea_config_id=1`, `target_network`). A bad value throws
 * ConfigError naming the variable; secrets are never echoed.
 */
import { ConfigError } from '../config.js';

export interface VcenterCredentials {
  username: string;
  password: string;
}

export interface IntegrationConfig {
  /** Null together with vmaApiUrl: the built-in simulator answers instead. */
  omaApiUrl: string | null;
  /** Required with omaApiUrl. */
  omaApiToken: string | null;
  /** Required with omaApiUrl; null when simulating. */
  omaOsseaConfigId: number | null;
  /** Null: `target_network` is left out and the OMA applies its default. */
  omaTargetNetwork: string | null;
  vmaApiUrl: string | null;
  /** By vCenter host, lower-cased (host names are case-insensitive). */
  vcenterCredentials: Record<string, VcenterCredentials>;
  jobPollIntervalSeconds: number;
  /** Bound of reads (discovery, job state). */
  requestTimeoutMs: number;
  /** Bound of a replication creation, which provisions volumes inside the request. */
  createTimeoutMs: number;
  phantom: { noProgressHours: number; zeroProgressMinutes: number };
  /** Seconds between two phantom scans (PHANTOM_SCAN_INTERVAL_SECONDS). */
  phantomScanIntervalSeconds: number;
  /** The built-in simulator, used when no appliance is configured. */
  simulator: { jobDurationSeconds: number; failureRate: number };
}

export function loadIntegrationConfig(env: NodeJS.ProcessEnv): IntegrationConfig {
  const omaApiUrl = httpUrl(env, 'OMA_API_URL');
  const vmaApiUrl = httpUrl(env, 'VMA_API_URL');
  if ((omaApiUrl === null) !== (vmaApiUrl === null)) {
    const [missing, present] = omaApiUrl === null ? ['OMA_API_URL', 'VMA_API_URL'] : ['VMA_API_URL', 'OMA_API_URL'];
    throw new ConfigError(missing, `must be set when ${present} is set (set both to use the appliances, neither to use the built-in simulator)`);
  }
  const omaApiToken = text(env, 'OMA_API_TOKEN');
  if (omaApiUrl !== null && omaApiToken === null) throw new ConfigError('OMA_API_TOKEN', 'is required when OMA_API_URL is set');
  const omaOsseaConfigId = optionalWholeNumber(env, 'OMA_OSSEA_CONFIG_ID', 1, 2147483647);
  // No default: the old system's hard-coded 1 replicated into whatever that happened to be.
  if (omaApiUrl !== null && omaOsseaConfigId === null) throw new ConfigError('OMA_OSSEA_CONFIG_ID', 'is required when OMA_API_URL is set');
  return {
    omaApiUrl,
    omaApiToken,
    omaOsseaConfigId,
    omaTargetNetwork: text(env, 'OMA_TARGET_NETWORK'),
    vmaApiUrl,
    vcenterCredentials: parseVcenterCredentials(env.VCENTER_CREDENTIALS),
    jobPollIntervalSeconds: wholeNumber(env, 'JOB_POLL_INTERVAL_SECONDS', 30, 1, 3600),
    requestTimeoutMs: wholeNumber(env, 'OMA_REQUEST_TIMEOUT_MS', 10000, 100, 600000),
    createTimeoutMs: wholeNumber(env, 'OMA_CREATE_TIMEOUT_MS', 120000, 1000, 3600000),
    phantom: {
      noProgressHours: wholeNumber(env, 'PHANTOM_NO_PROGRESS_HOURS', 2, 1, 720),
      zeroProgressMinutes: wholeNumber(env, 'PHANTOM_ZERO_PROGRESS_MINUTES', 30, 1, 10080),
    },
    phantomScanIntervalSeconds: wholeNumber(env, 'PHANTOM_SCAN_INTERVAL_SECONDS', 300, 10, 86400),
    simulator: {
      jobDurationSeconds: wholeNumber(env, 'SIMULATOR_JOB_DURATION_SECONDS', 60, 1, 86400),
      failureRate: fraction(env, 'SIMULATOR_FAILURE_RATE', 0.1),
    },
  };
}

const CREDENTIALS_SHAPE = 'expected a JSON object {"<vcenter host>": {"username": "...", "password": "..."}}';

/**
 * `VCENTER_CREDENTIALS`: host -> {username, password}. Errors name the host and
 * the field at fault, never a value; the JSON parser's own message is not used
 * because it quotes the input (and so the password).
 */
export function parseVcenterCredentials(raw: string | undefined): Record<string, VcenterCredentials> {
  const variable = 'VCENTER_CREDENTIALS';
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, `not valid JSON (${CREDENTIALS_SHAPE})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(variable, CREDENTIALS_SHAPE);
  const credentials: Record<string, VcenterCredentials> = {};
  for (const [rawHost, entry] of Object.entries(parsed)) {
    const host = rawHost.trim().toLowerCase();
    if (host === '') throw new ConfigError(variable, `an entry has an empty host name (${CREDENTIALS_SHAPE})`);
    if (Object.hasOwn(credentials, host)) throw new ConfigError(variable, `host "${host}" appears twice`);
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(variable, `host "${host}": expected {"username": "...", "password": "..."}`);
    }
    const { username, password } = entry as Record<string, unknown>;
    if (typeof username !== 'string' || username.trim() === '') throw new ConfigError(variable, `host "${host}": username must be a non-empty string`);
    if (typeof password !== 'string' || password === '') throw new ConfigError(variable, `host "${host}": password must be a non-empty string`);
    credentials[host] = { username: username.trim(), password };
  }
  return credentials;
}

function text(env: NodeJS.ProcessEnv, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function httpUrl(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = text(env, name);
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'not a valid URL (expected http://... or https://...)');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(name, `unsupported scheme "${parsed.protocol}" (expected http: or https:)`);
  }
  // A password in the URL would travel into logs with every error message.
  if (parsed.username !== '' || parsed.password !== '') throw new ConfigError(name, 'must not carry credentials (use OMA_API_TOKEN / VCENTER_CREDENTIALS)');
  return raw.replace(/\/+$/, '');
}

function optionalWholeNumber(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | null {
  const raw = text(env, name);
  if (raw === null) return null;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  return optionalWholeNumber(env, name, min, max) ?? fallback;
}

function fraction(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = text(env, name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || value > 1) throw new ConfigError(name, `expected a number from 0 to 1, got "${raw}"`);
  return value;
}
