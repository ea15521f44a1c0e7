/** CliIo for running a command in-process: what it writes to stdout and stderr, as text. */
import type { CliIo } from '../../src/cli/cli-command.js';

export interface CapturedIo extends CliIo {
  stdout(): string;
  stderr(): string;
}

export function capturedIo(env: NodeJS.ProcessEnv, options: { isTTY?: boolean } = {}): CapturedIo {
  let out = '';
  let err = '';
  return {
    out: { write: (text: string) => (out += text), isTTY: options.isTTY ?? false },
    err: { write: (text: string) => (err += text), isTTY: false },
    env,
    stdout: () => out,
    stderr: () => err,
  };
}
