// The label names the console shows: connlabel.conf at the configured path (CONNTRACK_CONNLABEL_FILE), read again
// when it changes, so renaming a label needs no restart. An absent file leaves labels as bit numbers.
import { statSync } from 'node:fs';
import { config } from '@/lib/config';
import { labelBit, labelBits, labelName, loadConnlabelConf, type LabelNames } from '@/lib/conntrack/labels';
import { ValidationError } from '@/lib/conntrack';
import { logger } from '@/lib/observability';

let cached: { path: string; mtimeMs: number; names: LabelNames | undefined } | undefined;

/** Bit -> name from connlabel.conf, or undefined when the file does not exist (or cannot be read: logged). */
export function labelNames(): LabelNames | undefined {
  const path = config().connlabelFile;
  let mtimeMs = -1;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    // Absent: no names.
  }
  if (cached && cached.path === path && cached.mtimeMs === mtimeMs) return cached.names;
  let names: LabelNames | undefined;
  try {
    names = mtimeMs < 0 ? undefined : loadConnlabelConf(path);
  } catch (error) {
    logger().warn({ err: error, path }, 'connlabel.conf cannot be read: labels shown as bit numbers');
  }
  cached = { path, mtimeMs, names };
  return names;
}

/** The names (or bit numbers) of the labels set in a CTA_LABELS bitmap. */
export const labelsOf = (bitmap: Uint8Array | undefined): string[] => {
  const bits = labelBits(bitmap);
  if (!bits.length) return [];
  const names = labelNames();
  return bits.map((bit) => labelName(bit, names));
};

/** Labels as a client wrote them (names or bit numbers) -> bits; a 400 naming `field` for an unknown name. */
export function resolveLabels(written: readonly string[], field = 'label'): number[] {
  const names = labelNames();
  return written.map((label) => {
    const bit = labelBit(label, names);
    if (bit === undefined) {
      const known = names ? [...names.values()].join(', ') : 'none: no connlabel.conf';
      throw new ValidationError(field, `unknown label "${label}" (give a bit number 0..127 or a name from connlabel.conf; known: ${known})`);
    }
    return bit;
  });
}
