/**
 * Errors of the replication gateway. Their messages are built to be logged and
 * shown: they never carry a token or a password (every message is passed
 * through `redactSecrets` with the secrets the client holds).
 */

export type GatewayErrorKind = 'timeout' | 'unreachable' | 'bad_response' | 'http_error';

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    readonly details: {
      /** HTTP status when the appliance answered. */
      status?: number;
      /**
       * False only when the connection could not be made (refused, DNS): the
       * request certainly did not reach the appliance.
       */
      requestMayHaveArrived: boolean;
    },
  ) {
    super(message);
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

/** Discovery was asked for a vCenter that VCENTER_CREDENTIALS does not list. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
  constructor(readonly vcenterHost: string) {
    super(`no credentials configured for vCenter "${vcenterHost}" (add it to VCENTER_CREDENTIALS)`);
  }
}

const REDACTED = '[redacted]';

/** Replaces every occurrence of each secret, so an echoing appliance cannot leak one into a log. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let safe = text;
  // Longest first, so a secret containing another is replaced whole.
  for (const secret of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    safe = safe.split(secret).join(REDACTED);
  }
  return safe;
}
