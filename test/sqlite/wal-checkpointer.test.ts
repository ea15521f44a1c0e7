import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startWalCheckpointer } from '../../src/sqlite/wal-checkpointer.js';

describe('WAL checkpoints from a worker', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'wal-checkpointer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies the WAL into the database file while the writer does not checkpoint', async () => {
    const filename = path.join(dir, 'db.sqlite');
    const db = new Database(filename);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const checkpointer = startWalCheckpointer(filename, 20);
    try {
      for (let i = 0; i < 200; i++) insert.run('x'.repeat(2000));
      const databaseBytes = (await stat(filename)).size;
      // The rows reach the database file itself (the writer never checkpoints).
      for (let wait = 0; wait < 100 && (await stat(filename)).size <= databaseBytes; wait++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok((await stat(filename)).size > 200 * 2000, 'the database file holds the rows');
      // Fully checkpointed: the writer's next transaction starts the WAL over.
      const [state] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
      assert.equal(state?.checkpointed, state?.log);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it('stops at once when the file cannot be opened', async () => {
    const checkpointer = startWalCheckpointer(path.join(dir, 'missing', 'db.sqlite'));
    await checkpointer.stop();
  });
});
