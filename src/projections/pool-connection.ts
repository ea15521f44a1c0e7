import type { Knex } from 'knex';

/**
 * Runs `work` on one connection of knex's pool, given back afterwards. knex types
 * pool connections as any; the caller names the driver's connection type.
 */
export async function withPoolConnection<Connection, T>(knex: Knex, work: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = (await knex.client.acquireConnection()) as Connection;
  try {
    return await work(connection);
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
