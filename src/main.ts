/** The service's entry point: configuration from the environment, then serve until a signal. */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { loadIntegrationConfig } from './integrations/integration-config.js';
import { startService } from './service.js';

async function main(): Promise<void> {
  let config;
  let integrationConfig;
  try {
    config = loadConfig();
    integrationConfig = loadIntegrationConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  if (config.apiTokens.length === 0) logger.warn({ host: config.host }, 'API_TOKENS is empty: auth is off, listening on loopback only');
  const service = await startService(config, { logger, integrationConfig });
  logger.info(
    { eventStore: service.store.kind, readModels: service.readDb.kind, dataDir: config.eventstoreUrl && config.databaseUrl ? null : config.dataDir },
    'stores opened',
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await service.stop();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  const address = await service.app.listen({ host: config.host, port: config.port });
  logger.info({ address, docs: `${address}/docs` }, 'replication scheduler listening');
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
