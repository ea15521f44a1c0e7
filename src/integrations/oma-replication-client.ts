/**
 * The OMA replication client over HTTP (spec/integrations.md). Creation is never
 * retried: the OMA provisions volumes inside the request, so a timeout or a 5xx
 * may hide a job that exists; those answers come back `unconfirmed` for the
 * caller to reconcile. Reads of job state are retried (safe to repeat). Every
 * creation carries the request's Idempotency-Key, so the reconciling repeat of a
 * creation can be recognised by the OMA.
 */
import { GatewayError, redactSecrets } from './gateway-errors.js';
import {
  answerMessage,
  applianceUrl,
  DEFAULT_READ_RETRIES,
  describeRequest,
  exchange,
  exchangeWithRetries,
  readOkAnswer,
  type Appliance,
  type ExchangeAnswer,
  type ExchangeRequest,
  type RetryPolicy,
} from './http-exchange.js';
import { parseJsonText, ShapeError } from './json-shape.js';
import { readActiveJobId, readOmaJobState, readStartedJob } from './oma-answers.js';
import type { OmaJobState, OmaReplication, StartReplicationRequest, StartReplicationResult } from './replication-gateway.js';
import { buildReplicationRequestBody, type ReplicationTargetSettings } from './replication-request-body.js';

export interface OmaClientOptions {
  baseUrl: string;
  token: string;
  target: ReplicationTargetSettings;
  /** Bound of a job state read. */
  requestTimeoutMs: number;
  /** Bound of a creation, which can take tens of seconds. */
  createTimeoutMs: number;
  readRetries?: RetryPolicy;
}

export function createOmaReplicationClient(options: OmaClientOptions): OmaReplication {
  const oma: Appliance = { label: 'OMA', secrets: [options.token] };
  const authorization = { authorization: `Bearer ${options.token}` };
  const readRetries = options.readRetries ?? DEFAULT_READ_RETRIES;

  async function startReplication(request: StartReplicationRequest): Promise<StartReplicationResult> {
    const post: ExchangeRequest = {
      method: 'POST',
      url: applianceUrl(options.baseUrl, '/api/v1/replications'),
      headers: request.idempotencyKey === undefined ? authorization : { ...authorization, 'idempotency-key': request.idempotencyKey },
      json: buildReplicationRequestBody(request, options.target),
      timeoutMs: options.createTimeoutMs,
    };
    let answer: ExchangeAnswer;
    try {
      answer = await exchange(oma, post);
    } catch (error) {
      if (error instanceof GatewayError && error.details.requestMayHaveArrived) return { kind: 'unconfirmed', reason: error.message };
      throw error;
    }
    return creationOutcome(post, answer);
  }

  function creationOutcome(post: ExchangeRequest, answer: ExchangeAnswer): StartReplicationResult {
    if (answer.status >= 200 && answer.status < 300) {
      try {
        return readStartedJob(parseJsonText(answer.text));
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        // The OMA said yes but we cannot tell which job: it exists, so reconcile rather than fail.
        return { kind: 'unconfirmed', reason: redactSecrets(`${describeRequest(oma, post)}: HTTP ${answer.status} but ${error.message}`, oma.secrets) };
      }
    }
    const message = redactSecrets(answerMessage(answer.text), oma.secrets);
    if (answer.status === 409) return { kind: 'active_job', message, jobId: readActiveJobId(answer.text) };
    if (answer.status >= 500) return { kind: 'unconfirmed', reason: redactSecrets(`${describeRequest(oma, post)}: HTTP ${answer.status} ${message}`, oma.secrets) };
    return { kind: 'rejected', status: answer.status, message: message || `HTTP ${answer.status}` };
  }

  async function jobState(jobId: string): Promise<OmaJobState | 'unknown'> {
    const get: ExchangeRequest = {
      method: 'GET',
      url: applianceUrl(options.baseUrl, `/api/v1/replications/${encodeURIComponent(jobId)}`),
      headers: authorization,
      timeoutMs: options.requestTimeoutMs,
    };
    const answer = await exchangeWithRetries(oma, get, readRetries);
    if (answer.status === 404) return 'unknown';
    return readOkAnswer(oma, get, answer, readOmaJobState);
  }

  return { startReplication, jobState };
}
