import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

/**
 * Throwaway MariaDB databases for tests. MariaDB is part of the product, so a test that
 * needs it FAILS (never skips) when it cannot be reached.
 * Server: MARIADB_TEST_URL, default mysql://root@127.0.0.1:3306 (a database path is ignored).
 */

const DEFAULT_SERVER_URL = 'mysql://root@127.0.0.1:3306';
const CONNECT_TIMEOUT_MS = 3000;

export interface TestDatabase {
  /** mysql://user:pass@host:port/<name>, ready for openMariaDbEventStore or knex. */
  url: string;
  name: string;
  /** Drops the database (idempotent). */
  drop(): Promise<void>;
}

/** Creates a uniquely named database, e.g. createTestDatabase('t_es') -> t_es_3f9a1c2b. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  if (!/^[A-Za-z0-9_]{1,40}$/.test(prefix)) {
    throw new Error(`test database prefix must be 1-40 letters, digits or underscores: ${JSON.stringify(prefix)}`);
  }
  const serverUrl = new URL(process.env.MARIADB_TEST_URL ?? DEFAULT_SERVER_URL);
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;

  await withServerConnection(serverUrl, (connection) =>
    connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`),
  );

  const databaseUrl = new URL(serverUrl.href);
  databaseUrl.pathname = `/${name}`;
  return {
    url: databaseUrl.href,
    name,
    drop: () => withServerConnection(serverUrl, (connection) => connection.query(`DROP DATABASE IF EXISTS \`${name}\``)),
  };
}

async function withServerConnection(serverUrl: URL, work: (connection: mysql.Connection) => Promise<unknown>): Promise<void> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({
      host: serverUrl.hostname,
      port: serverUrl.port === '' ? 3306 : Number(serverUrl.port),
      user: decodeURIComponent(serverUrl.username),
      password: decodeURIComponent(serverUrl.password),
      connectTimeout: CONNECT_TIMEOUT_MS,
    });
  } catch (error) {
    // Never echo the password.
    const where = `${serverUrl.protocol}//${serverUrl.username || '(no user)'}@${serverUrl.host}`;
    throw new Error(
      `MariaDB is not reachable at ${where}; tests that need MariaDB fail rather than skip. ` +
        `Start MariaDB or set MARIADB_TEST_URL. Cause: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  try {
    await work(connection);
  } finally {
    await connection.end();
  }
}
