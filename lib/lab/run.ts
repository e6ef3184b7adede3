// Running the system tools the lab is built with (ip, nft, sysctl, conntrack), with errors that say what failed.
import { execFile, execFileSync } from 'node:child_process';

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** A system command that exited non-zero or could not start; carries its output so a failing test explains itself. */
export class LabCommandError extends Error {
  override readonly name = 'LabCommandError';
  readonly command: string;
  readonly stderr: string;

  constructor(options: { command: string; stderr: string; cause: unknown }) {
    super(`${options.command}: ${options.stderr.trim() || String(options.cause)}`, { cause: options.cause });
    this.command = options.command;
    this.stderr = options.stderr;
  }
}

export function run(cmd: string, args: readonly string[], options: { input?: string } = {}): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new LabCommandError({ command: [cmd, ...args].join(' '), stderr, cause: error }));
      else resolve({ stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Synchronous variant for the process 'exit' handler, where nothing asynchronous runs any more. */
export function runSync(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}
