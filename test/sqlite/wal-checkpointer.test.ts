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
      // The rows reach the database file itself (the writer never checkpoints); a
      // checkpoint may have copied part of them while they were being written.
      const rowBytes = 200 * 2000;
      for (let wait = 0; wait < 150 && (await stat(filename)).size <= rowBytes; wait++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok((await stat(filename)).size > rowBytes, 'the database file holds the rows');
      // A commit after the WAL was copied whole is copied too (the worker notices it).
      for (let i = 0; i < 100; i++) insert.run('y'.repeat(2000));
      for (let wait = 0; wait < 150 && (await stat(filename)).size <= rowBytes + 100 * 2000; wait++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok((await stat(filename)).size > rowBytes + 100 * 2000, 'the later rows reach the file too');
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
