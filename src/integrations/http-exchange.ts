/**
 * One HTTP request to an appliance (VMA or OMA), with a timeout, transport
 * failures turned into GatewayError, and retries for the calls that are safe to
 * repeat. Messages name the appliance, the method and the URL without userinfo or
 * query, and are redacted of every secret the client holds.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { GatewayError, redactSecrets } from './gateway-errors.js';
import { CONNECT_TIMEOUT_CODE, ExchangeTimeoutError, sendHttpRequest } from './http-transport.js';
import { parseJsonText, ShapeError } from './json-shape.js';

export interface Appliance {
  /** `VMA` or `OMA`: the first word of every message. */
  label: string;
  /** Token and passwords this client sends; removed from every message. */
  secrets: readonly string[];
}

export interface ExchangeRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  json?: unknown;
  timeoutMs: number;
}

export interface ExchangeAnswer {
  status: number;
  text: string;
}

export interface RetryPolicy {
  /** Wait before each retry; its length is the number of retries. */
  delaysMs: readonly number[];
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_READ_RETRIES: RetryPolicy = { delaysMs: [200, 1000], sleep: (ms) => delay(ms) };

/** Errors raised before any byte was sent: no job can have been created. */
const CONNECT_PHASE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', CONNECT_TIMEOUT_CODE]);

/** `path` under the configured base URL, keeping any path prefix the base has (e.g. behind a proxy). */
export function applianceUrl(baseUrl: string, path: string): URL {
  return new URL(path.replace(/^\/+/, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
}

export function describeRequest(appliance: Appliance, request: Pick<ExchangeRequest, 'method' | 'url'>): string {
  return `${appliance.label} ${request.method} ${request.url.origin}${request.url.pathname}`;
}

export async function exchange(appliance: Appliance, request: ExchangeRequest): Promise<ExchangeAnswer> {
  try {
    return await sendHttpRequest(request);
  } catch (error) {
    const fail = (kind: 'timeout' | 'unreachable', message: string, requestMayHaveArrived: boolean): GatewayError =>
      new GatewayError(kind, redactSecrets(`${describeRequest(appliance, request)}: ${message}`, appliance.secrets), { requestMayHaveArrived });
    if (error instanceof ExchangeTimeoutError) throw fail('timeout', error.message, true);
    const code = transportErrorCode(error);
    const connectPhase = code !== undefined && CONNECT_PHASE_CODES.has(code);
    throw fail('unreachable', connectPhase ? `cannot connect (${code})` : `connection failed${code ? ` (${code})` : ''}`, !connectPhase);
  }
}

/**
 * A read (or read-only POST such as discovery) retried on transport failures
 * and 5xx answers. Timeouts are not retried: the caller's next poll is the retry,
 * and three timeouts in a row would hold it three times as long.
 * Returns the first answer below 500; throws GatewayError otherwise.
 */
export async function exchangeWithRetries(appliance: Appliance, request: ExchangeRequest, retries: RetryPolicy): Promise<ExchangeAnswer> {
  for (let attempt = 0; ; attempt += 1) {
    let failure: GatewayError;
    try {
      const answer = await exchange(appliance, request);
      if (answer.status < 500) return answer;
      failure = httpError(appliance, request, answer);
    } catch (error) {
      if (!(error instanceof GatewayError) || error.kind === 'timeout') throw error;
      failure = error;
    }
    const wait = retries.delaysMs[attempt];
    if (wait === undefined) throw failure;
    await retries.sleep(wait);
  }
}

export function httpError(appliance: Appliance, request: Pick<ExchangeRequest, 'method' | 'url'>, answer: ExchangeAnswer): GatewayError {
  return new GatewayError('http_error', redactSecrets(`${describeRequest(appliance, request)}: HTTP ${answer.status} ${answerMessage(answer.text)}`, appliance.secrets), {
    status: answer.status,
    requestMayHaveArrived: true,
  });
}

export function badResponse(appliance: Appliance, request: Pick<ExchangeRequest, 'method' | 'url'>, status: number, problem: string): GatewayError {
  return new GatewayError('bad_response', redactSecrets(`${describeRequest(appliance, request)}: unexpected answer (HTTP ${status}): ${problem}`, appliance.secrets), {
    status,
    requestMayHaveArrived: true,
  });
}

/** A 200 answer read by `reader`; any other status is an http_error, a wrong shape a bad_response. */
export function readOkAnswer<T>(appliance: Appliance, request: ExchangeRequest, answer: ExchangeAnswer, reader: (json: unknown) => T): T {
  if (answer.status !== 200) throw httpError(appliance, request, answer);
  try {
    return reader(parseJsonText(answer.text));
  } catch (error) {
    if (error instanceof ShapeError) throw badResponse(appliance, request, answer.status, error.message);
    throw error;
  }
}

const MESSAGE_LIMIT = 300;

/** The readable part of an answer: a JSON `message`/`error` field, else the text itself, shortened. */
export function answerMessage(text: string): string {
  let message = text.trim();
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed === 'object' && parsed !== null) {
      const record = parsed as Record<string, unknown>;
      const field = [record.message, record.error].find((value): value is string => typeof value === 'string' && value !== '');
      if (field !== undefined) message = field;
    }
  } catch {
    // Plain text (the VMA answers errors that way).
  }
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}...` : message;
}

/** The system error code behind a transport failure (a failed connection to several addresses is an AggregateError). */
function transportErrorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const nested = (current as { errors?: unknown }).errors;
    if (Array.isArray(nested) && nested.length > 0) {
      current = nested[0];
      continue;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
