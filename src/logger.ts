import { pino, type Logger } from 'pino';

/** One logger for the service; tokens travel in the Authorization header and are never logged. */
export function createLogger(level: string): Logger {
  return pino({ level, redact: ['req.headers.authorization', 'headers.authorization', '*.password', 'password'] });
}

export type { Logger };
