// The label names the console shows: connlabel.conf at the configured path (CONNTRACK_CONNLABEL_FILE), read again
// when it changes, so renaming a label needs no restart. An absent file leaves labels as bit numbers.
import { statSync } from 'node:fs';
import { config } from '@/lib/config';
import { labelBit, labelBits, labelName, loadConnlabelConf, type LabelNames } from '@/lib/conntrack/labels';
import type { ToFilterOptions } from '@/lib/conntrack';
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

/** How the console's filters read label names: by connlabel.conf, bit numbers always. */
export const labelFilterOptions = (): ToFilterOptions => {
  const names = labelNames();
  return { labelBit: (written) => labelBit(written, names) };
};
