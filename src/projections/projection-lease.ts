/**
 * projection_leases: which instance writes the read models. Several service instances
 * may share the stores; only the holder of the lease applies batches (the runner folds
 * rows outside its write transaction and assumes it is the only writer). The others
 * stand by and take over when the lease expires.
 *
 * Acquire and renew are one conditional UPDATE (ours, or expired) and, when the row is
 * absent, an INSERT that does nothing on a conflict, in one transaction. Expiry is
 * measured on the DATABASE clock (instances' clocks may differ); the holder keeps its
 * own, earlier, deadline on its monotonic clock (taken before the statement was sent).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { ReadModelDb } from './read-model-db.js';

export const LEASES_TABLE = 'projection_leases';
export const READ_MODELS_LEASE = 'read-models';

export interface ProjectionLeaseOptions {
  /** Lease name (default 'read-models'). */
  name?: string;
  /** This instance's name in the lease row (default host-pid-random). */
  holder?: string;
  /** How long a lease lasts without renewal (ms, default 10,000). */
  ttlMs?: number;
  /** How often the holder renews and a standby tries to acquire (ms, default 3,000). */
  renewIntervalMs?: number;
}

export const LEASE_DEFAULTS = { name: READ_MODELS_LEASE, ttlMs: 10_000, renewIntervalMs: 3_000 };

export function defaultHolderName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function nowMsSql(kind: ReadModelDb['kind']): string {
  return kind === 'sqlite'
    ? "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)"
    : 'CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)';
}

/** Affected rows of a raw UPDATE/INSERT, for both drivers. */
function affectedRows(result: unknown): number {
  // better-sqlite3 through knex.raw: { changes }; mysql2: [ResultSetHeader { affectedRows }, fields].
  const first = Array.isArray(result) ? result[0] : result;
  const record = (first ?? {}) as { changes?: number; affectedRows?: number };
  return Number(record.changes ?? record.affectedRows ?? 0);
}

/** Rows of a raw SELECT, for both drivers (mysql2 answers [rows, fields]). */
function firstRows(result: unknown): Array<{ holder: string }> {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as Array<{ holder: string }>;
}

export class ProjectionLease {
  readonly name: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  /** performance.now() until which this instance may write (0: not held). */
  private heldUntil = 0;
  private currentTerm = 0;
  private tableReady: Promise<void> | null = null;

  constructor(
    private readonly db: ReadModelDb,
    options: ProjectionLeaseOptions = {},
  ) {
    this.name = options.name ?? LEASE_DEFAULTS.name;
    this.holder = options.holder ?? defaultHolderName();
    this.ttlMs = options.ttlMs ?? LEASE_DEFAULTS.ttlMs;
    this.renewIntervalMs = options.renewIntervalMs ?? LEASE_DEFAULTS.renewIntervalMs;
    if (!(this.renewIntervalMs < this.ttlMs)) throw new Error('projection lease: renewIntervalMs must be below ttlMs');
  }

  /** The table is created here (idempotently), so a database migrated before the lease existed works too. */
  private ensureTable(): Promise<void> {
    this.tableReady ??= this.db.knex
      .raw(
        `CREATE TABLE IF NOT EXISTS ${LEASES_TABLE} (name VARCHAR(100) NOT NULL PRIMARY KEY, holder VARCHAR(200) NOT NULL, expires_at BIGINT NOT NULL)`,
      )
      .then(
        () => undefined,
        (error: unknown) => {
          this.tableReady = null;
          throw error;
        },
      );
    return this.tableReady;
  }

  /**
   * Acquires the lease, or renews it when held; true when this instance holds it now.
   * A database error rejects (the caller keeps its own deadline meanwhile).
   */
  async tryAcquire(): Promise<boolean> {
    await this.ensureTable();
    const sentAt = performance.now();
    const now = nowMsSql(this.db.kind);
    const acquired = await this.db.knex.transaction(async (trx: Knex.Transaction) => {
      const update = () =>
        trx.raw(`UPDATE ${LEASES_TABLE} SET holder = ?, expires_at = ${now} + ? WHERE name = ? AND (holder = ? OR expires_at < ${now})`, [
          this.holder,
          this.ttlMs,
          this.name,
          this.holder,
        ]);
      if (affectedRows(await update()) > 0) return true;
      const insert =
        this.db.kind === 'sqlite'
          ? `INSERT INTO ${LEASES_TABLE} (name, holder, expires_at) VALUES (?, ?, ${now} + ?) ON CONFLICT (name) DO NOTHING`
          : `INSERT IGNORE INTO ${LEASES_TABLE} (name, holder, expires_at) VALUES (?, ?, ${now} + ?)`;
      if (affectedRows(await trx.raw(insert, [this.name, this.holder, this.ttlMs])) > 0) return true;
      // MariaDB counts CHANGED rows: a renewal within the same millisecond changes nothing.
      const rows = await trx.raw(`SELECT holder FROM ${LEASES_TABLE} WHERE name = ? AND expires_at >= ${now}`, [this.name]);
      return firstRows(rows)[0]?.holder === this.holder;
    });
    // Renewed before our own deadline: the row was ours, unexpired, all along (the
    // database's expiry is later than our deadline), so no one else can have written.
    const continuous = acquired && performance.now() < this.heldUntil;
    if (acquired && !continuous) this.currentTerm += 1;
    this.heldUntil = acquired ? sentAt + this.ttlMs : 0;
    return acquired;
  }

  /**
   * Changes whenever this instance acquires the lease after a gap (not held, lapsed,
   * forgotten): while it stays the same, no other instance has held the lease, so the
   * read models changed only by this instance's writes.
   */
  get term(): number {
    return this.currentTerm;
  }

  /** Whether this instance may still write for at least `marginMs` (by its own, conservative deadline). */
  isHeld(marginMs = 0): boolean {
    return this.heldUntil > 0 && performance.now() + marginMs < this.heldUntil;
  }

  /** Forgets the lease locally (it lapses in the database by itself). */
  forget(): void {
    this.heldUntil = 0;
  }

  /** Gives the lease up at once, so another instance takes over without waiting for the TTL. */
  async release(): Promise<void> {
    const wasHeld = this.heldUntil > 0;
    this.heldUntil = 0;
    if (!wasHeld) return;
    await this.ensureTable();
    await this.db.knex(LEASES_TABLE).where({ name: this.name, holder: this.holder }).delete();
  }

  /** The current holder per the database (null: none, or expired), for status and tests. */
  async currentHolder(): Promise<string | null> {
    await this.ensureTable();
    const rows = (await this.db.knex.raw(
      `SELECT holder FROM ${LEASES_TABLE} WHERE name = ? AND expires_at >= ${nowMsSql(this.db.kind)}`,
      [this.name],
    )) as unknown;
    return firstRows(rows)[0]?.holder ?? null;
  }
}
