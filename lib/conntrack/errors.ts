// The errors of the ctnetlink library: bytes that do not decode, input it refuses, and (from lib/netlink, where
// they live) the kernel's errno and the namespace problems.
import { shareErrorClass } from '../process';

export { NamespaceError, NetlinkError } from '@/lib/netlink/errors';

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

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(CodecError, 'CodecError');
shareErrorClass(ValidationError, 'ValidationError');
