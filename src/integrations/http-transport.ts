/**
 * One HTTP request over node:http / node:https, on keep-alive agents shared by
 * every appliance client. The whole exchange (connect, send, read the answer)
 * is bounded by one timer, so a trickling answer times out too; a connection
 * not made within CONNECT_TIMEOUT_MS fails as a connect error. Redirects are not
 * followed (a redirect would carry the token and the body elsewhere): they come
 * back as answers like any other status.
 *
 * Cheaper than the global fetch per exchange (no web streams, no AbortSignal,
 * no Headers/Response objects), which counts when thousands of calls go out at once.
 */
import { Agent as HttpAgent, request as httpRequest, type AgentOptions, type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ExchangeAnswer, ExchangeRequest } from './http-exchange.js';

/** A connection not made in this time fails as unreachable (the bound the previous fetch client had). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** The `code` of that failure. */
export const CONNECT_TIMEOUT_CODE = 'CONNECT_TIMEOUT';

/** The request's `timeoutMs` passed before its answer was read whole. */
export class ExchangeTimeoutError extends Error {
  override readonly name = 'ExchangeTimeoutError';
}

/**
 * Connections open at once to one appliance: a fan-out of thousands of VMs queues its
 * calls here instead of opening a connection per call (an appliance's listen queue
 * overflows, and its answers come back late). A queued call's timeout starts when it
 * gets its connection.
 */
export const MAX_CONNECTIONS_PER_APPLIANCE = 64;

const AGENT_OPTIONS: AgentOptions = {
  keepAlive: true,
  maxSockets: MAX_CONNECTIONS_PER_APPLIANCE,
  // Idle connections close after this (or 1 s before the server's Keep-Alive hint, if sooner).
  timeout: 4000,
  // Idle connections kept per origin are not capped: a wave of calls is followed by the next one.
  maxFreeSockets: Number.POSITIVE_INFINITY,
};

/** Fails a connection that is not ready (TCP, plus TLS for https) within CONNECT_TIMEOUT_MS. */
function boundConnect(socket: Duplex | null | undefined, readyEvent: 'connect' | 'secureConnect'): Duplex | null | undefined {
  if (!socket) return socket;
  const timer = setTimeout(() => {
    socket.destroy(Object.assign(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`), { code: CONNECT_TIMEOUT_CODE }));
  }, CONNECT_TIMEOUT_MS);
  socket.once(readyEvent, () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  return socket;
}

class ApplianceHttpAgent extends HttpAgent {
  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return boundConnect(super.createConnection(options, callback), 'connect');
  }
}

class ApplianceHttpsAgent extends HttpsAgent {
  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return boundConnect(super.createConnection(options, callback), 'secureConnect');
  }
}

const httpAgent = new ApplianceHttpAgent(AGENT_OPTIONS);
const httpsAgent = new ApplianceHttpsAgent(AGENT_OPTIONS);

/**
 * Sends `request` and reads its answer as UTF-8 text. Rejects with
 * ExchangeTimeoutError `timeoutMs` after it got its connection, or with the transport's error (its
 * `code`: ECONNREFUSED, ECONNRESET, ...).
 */
export function sendHttpRequest(request: ExchangeRequest): Promise<ExchangeAnswer> {
  const body = request.json === undefined ? undefined : JSON.stringify(request.json);
  const headers: Record<string, string> =
    body === undefined
      ? { accept: 'application/json, text/plain', ...request.headers }
      : { accept: 'application/json, text/plain', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...request.headers };
  const secure = request.url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    // After a timeout the promise is settled: the errors that destroying the request raises change nothing.
    const failed = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    const answered = (incoming: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        clearTimeout(timer);
        resolve({ status: incoming.statusCode ?? 0, text: utf8Text(chunks) });
      });
      incoming.on('error', failed);
    };
    const outgoing: ClientRequest = secure
      ? httpsRequest(request.url, { method: request.method, headers, agent: httpsAgent }, answered)
      : httpRequest(request.url, { method: request.method, headers, agent: httpAgent }, answered);
    outgoing.on('error', failed);
    outgoing.once('socket', () => {
      timer = setTimeout(() => {
        reject(new ExchangeTimeoutError(`no answer within ${request.timeoutMs} ms`));
        outgoing.destroy();
      }, request.timeoutMs);
    });
    outgoing.end(body);
  });
}

/** The body as text, without a leading byte order mark (as fetch's `text()` reads it). */
function utf8Text(chunks: Buffer[]): string {
  const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
