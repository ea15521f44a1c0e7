/**
 * Idempotency-Key: a repeated key with the same request returns the first answer
 * and appends nothing. Answers are kept in the read-model database (shared by
 * every instance), keyed by caller and key; a 5xx answer is not kept so that
 * the client may retry.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ApiError } from './api-error.js';

const TABLE = 'idempotency_keys';
/** A claim whose request never finished (crashed instance) may be taken over after this. */
const ABANDONED_AFTER_MS = 60_000;

export interface StoredAnswer {
  statusCode: number;
  body: string;
}

export type Claim = { kind: 'fresh' } | { kind: 'replay'; answer: StoredAnswer };

export class IdempotencyStore {
  constructor(private readonly knex: Knex) {}

  async init(): Promise<void> {
    if (await this.knex.schema.hasTable(TABLE)) return;
    await this.knex.schema.createTable(TABLE, (table) => {
      table.string('principal', 255).notNullable();
      table.string('idempotency_key', 255).notNullable();
      table.string('request_hash', 64).notNullable();
      table.integer('status_code').nullable();
      table.text('response_body', 'longtext').nullable();
      table.bigInteger('created_at_ms').notNullable();
      table.primary(['principal', 'idempotency_key']);
    });
  }

  static hashRequest(method: string, url: string, body: unknown): string {
    return createHash('sha256').update(`${method} ${url}\n${JSON.stringify(body ?? null)}`).digest('hex');
  }

  /** Claims the key for this request, or returns the answer already given for it. */
  async claim(principal: string, key: string, requestHash: string, nowMs: number): Promise<Claim> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.knex(TABLE).insert({ principal, idempotency_key: key, request_hash: requestHash, status_code: null, response_body: null, created_at_ms: nowMs });
        return { kind: 'fresh' };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const row = (await this.knex(TABLE).where({ principal, idempotency_key: key }).first()) as
        | { request_hash: string; status_code: number | null; response_body: string | null; created_at_ms: number | string }
        | undefined;
      if (!row) continue; // released meanwhile: claim again
      if (row.request_hash !== requestHash) throw new ApiError('Conflict', 'Idempotency-Key was already used for a different request');
      if (row.status_code !== null && row.response_body !== null) return { kind: 'replay', answer: { statusCode: row.status_code, body: row.response_body } };
      if (nowMs - Number(row.created_at_ms) < ABANDONED_AFTER_MS) throw new ApiError('Conflict', 'a request with this Idempotency-Key is still in progress');
      await this.knex(TABLE).where({ principal, idempotency_key: key, created_at_ms: row.created_at_ms }).delete();
    }
    throw new ApiError('Conflict', 'a request with this Idempotency-Key is still in progress');
  }

  async complete(principal: string, key: string, answer: StoredAnswer): Promise<void> {
    await this.knex(TABLE).where({ principal, idempotency_key: key }).update({ status_code: answer.statusCode, response_body: answer.body });
  }

  async abandon(principal: string, key: string): Promise<void> {
    await this.knex(TABLE).where({ principal, idempotency_key: key }).delete();
  }
}

function isDuplicateKey(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT';
}
