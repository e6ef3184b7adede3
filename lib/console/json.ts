// Request input that JSON.parse and URLSearchParams accept but that must not reach a schema: a key given twice
// (JSON.parse keeps the last: `"dryRun":true,"dryRun":false` would run a real delete) and keys that name the
// object machinery (`__proto__`, which a plain object swallows silently).
import { FORBIDDEN_KEYS } from '@/lib/config';
import { ValidationError } from '@/lib/conntrack';

function refuseForbidden(key: string, path: string): void {
  if (FORBIDDEN_KEYS.has(key)) throw new ValidationError(path ? `${path}.${key}` : key, 'this key is not accepted');
}

/**
 * JSON.parse, refusing a key repeated in one object and the forbidden keys (ValidationError naming the key).
 * The text is walked once after JSON.parse accepted it, so only valid JSON reaches the walk.
 */
export function parseStrictJson(text: string, where = 'body'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError(where, `the ${where} must be JSON`);
  }
  checkKeys(text);
  return value;
}

interface Frame {
  object: boolean;
  keys: Set<string> | null;
  path: string;
  /** Inside an object: the next string is a key. */
  expectKey: boolean;
  index: number;
  lastKey: string;
}

function checkKeys(text: string): void {
  const stack: Frame[] = [];
  const top = (): Frame | undefined => stack.at(-1);
  const childPath = (frame: Frame | undefined): string => (frame ? (frame.object ? (frame.path ? `${frame.path}.${frame.lastKey}` : frame.lastKey) : frame.path ? `${frame.path}.${frame.index}` : String(frame.index)) : '');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      const frame = top();
      if (frame?.object && frame.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        refuseForbidden(key, frame.path);
        if (frame.keys?.has(key)) throw new ValidationError(frame.path ? `${frame.path}.${key}` : key, 'this key is given more than once');
        frame.keys?.add(key);
        frame.lastKey = key;
        frame.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const path = childPath(top());
      stack.push({ object: c === 0x7b, keys: c === 0x7b ? new Set() : null, path, expectKey: c === 0x7b, index: 0, lastKey: '' });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const frame = top();
      if (frame?.object) frame.expectKey = true;
      else if (frame) frame.index++;
    }
  }
}

/** Refuses forbidden query-string keys (a repeated query key is a list, not a conflict). */
export function checkQueryKeys(keys: Iterable<string>): void {
  for (const key of keys) refuseForbidden(key, '');
}
