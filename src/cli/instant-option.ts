/** An ISO-8601 instant given as a CLI option, or a usage error naming the option. */
import { parseInstant } from '../reports/report-range.js';
import { CliUsageError } from './cli-command.js';

export function instantOption(name: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const instant = parseInstant(text);
  if (instant === null) throw new CliUsageError(`--${name}: not an ISO-8601 instant with a zone: ${text}`);
  return instant;
}
