// Structured JSON logs (pino): one line per event, with the request id where there is one. Secrets never reach
// the log: the paths below are censored wherever they appear in a logged object (tests/unit/config.test.ts
// checks it), and the code logs no request bodies or headers besides these.
import { randomUUID } from 'node:crypto';
import pino, { type DestinationStream, type Logger } from 'pino';
import { LOG_LEVELS } from '@/lib/config/settings';
import { processValue, setProcessValue } from '@/lib/process';

export type { Logger };

const SECRET_KEYS = ['password', 'newPassword', 'token', 'secret', 'authorization', 'cookie', 'set-cookie', 'x-csrf-token', 'csrf'];

/** Every secret key at the top level and up to three levels down (pino's redaction matches exact paths). */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((key) => {
  const at = (prefix: string) => (key.includes('-') ? `${prefix}["${key}"]` : prefix ? `${prefix}.${key}` : key);
  return [at(''), at('*'), at('*.*'), at('*.*.*')];
});

export const REDACTED = '[redacted]';

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'conntrack-console' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The process's logger (level from CONNTRACK_LOG_LEVEL until the server start sets it); one whatever bundle asks. */
export function logger(): Logger {
  return processValue('logger', () => {
    const level = process.env.CONNTRACK_LOG_LEVEL ?? '';
    return createLogger({ level: (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info' });
  });
}

/** Replaces the process's logger (the server's start, with the configured level). */
export function setProcessLogger(value: Logger): void {
  setProcessValue('logger', value);
}

export const REQUEST_ID_HEADER = 'x-request-id';
const VALID_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A request id: the trusted proxy's, when it sent a sane one, else a new UUID. */
export function requestId(fromTrustedProxy?: string | string[]): string {
  const offered = Array.isArray(fromTrustedProxy) ? fromTrustedProxy[0] : fromTrustedProxy;
  return offered && VALID_REQUEST_ID.test(offered) ? offered : randomUUID();
}
