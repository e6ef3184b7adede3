import { constants as osConstants } from 'node:os';

const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(osConstants.errno).map(([name, value]) => [value, name]),
);

export function errnoName(errno: number): string {
  return errnoNames[Math.abs(errno)] ?? `E${Math.abs(errno)}`;
}

const explanations: Record<string, string> = {
  EPERM: 'needs CAP_NET_ADMIN (run as root or grant the capability)',
  EACCES: 'needs CAP_NET_ADMIN (run as root or grant the capability)',
  ENOENT: 'no such connection (it is already gone)',
  EEXIST: 'the connection already exists',
  EOPNOTSUPP: 'the kernel does not support this request',
  EINVAL: 'the kernel rejected the request as invalid',
  ENOBUFS: 'the kernel dropped messages because the receive buffer was full',
  ETIMEDOUT: 'the kernel did not answer in time',
  EBUSY: 'the kernel is busy, try again',
  ENOMEM: 'the kernel is out of memory',
};

/** A kernel (or socket) error, with its errno, its symbolic code and the operation that failed. */
export class NetlinkError extends Error {
  override readonly name: string = 'NetlinkError';
  readonly errno: number;
  readonly code: string;
  readonly operation: string;

  constructor(options: { errno: number; operation: string; detail?: string }) {
    const code = errnoName(options.errno);
    const reason = explanations[code] ?? code;
    super(`${options.operation}: ${reason}${options.detail ? ` (${options.detail})` : ''} [${code}]`);
    this.errno = Math.abs(options.errno);
    this.code = code;
    this.operation = options.operation;
  }
}

/** The network namespace to manage cannot be opened or entered (a deployment problem, not a missing entry). */
export class NamespaceError extends NetlinkError {
  override readonly name = 'NamespaceError';
  readonly netns: string;

  constructor(options: { errno: number; operation: string; netns: string }) {
    super({ errno: options.errno, operation: options.operation });
    this.netns = options.netns;
  }
}

/** Bytes from the kernel (or a capture) that do not decode; `path` names the attribute, outermost first. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly path: string[];
  readonly reason: string;

  constructor(path: string[], reason: string) {
    super(`${path.length ? `${path.join(': ')}: ` : ''}${reason}`);
    this.path = path;
    this.reason = reason;
  }

  /** The same error, one level further out. */
  within(segment: string): CodecError {
    return new CodecError([segment, ...this.path], this.reason);
  }
}

/** Input from a caller that the library refuses; `field` names what was wrong. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.field = field;
  }
}
