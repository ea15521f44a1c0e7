/**
 * Durable checkpoints of the processes that follow the log (the execution
 * process manager): table `process_checkpoints(name, position, updated_at)` in
 * the read-model database, created when missing. Written after an event is
 * handled; handlers are idempotent, so an event handled twice after a crash
 * decides nothing new.
 */
import type { Knex } from 'knex';
import type { Position } from '../eventstore/event-store.js';

export const PROCESS_CHECKPOINTS_TABLE = 'process_checkpoints';

export class ProcessCheckpoints {
  constructor(private readonly knex: Knex) {}

  async ensureTable(): Promise<void> {
    if (await this.knex.schema.hasTable(PROCESS_CHECKPOINTS_TABLE)) return;
    try {
      await this.knex.schema.createTable(PROCESS_CHECKPOINTS_TABLE, (table) => {
        table.string('name', 100).notNullable().primary();
        table.string('position', 64).notNullable();
        table.string('updated_at', 24).notNullable();
      });
    } catch (error) {
      // Another instance created it meanwhile.
      if (!(await this.knex.schema.hasTable(PROCESS_CHECKPOINTS_TABLE))) throw error;
    }
  }

  async load(name: string): Promise<Position | null> {
    const row = (await this.knex(PROCESS_CHECKPOINTS_TABLE).select('position').where({ name }).first()) as { position?: unknown } | undefined;
    return typeof row?.position === 'string' ? row.position : null;
  }

  async save(name: string, position: Position, at: Date): Promise<void> {
    await this.knex(PROCESS_CHECKPOINTS_TABLE).insert({ name, position, updated_at: at.toISOString() }).onConflict('name').merge(['position', 'updated_at']);
  }
}
