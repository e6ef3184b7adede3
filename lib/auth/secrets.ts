// Random secrets (session ids, CSRF tokens, API tokens) and how they are stored: a SHA-256 hash, since a 256-bit
// random value cannot be guessed from its hash the way a password can.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
