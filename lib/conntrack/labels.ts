// Connection labels (CTA_LABELS): a bitmap of up to 128 bits, named by connlabel.conf ("BIT NAME" lines, the file
// nftables and conntrack-tools read). Without the file a label is its bit number.
import { readFileSync } from 'node:fs';

/** Bit number -> name. */
export type LabelNames = ReadonlyMap<number, string>;

/** The highest label bit the kernel has (NF_CT_LABELS_MAX_SIZE = 16 bytes). */
export const MAX_LABEL_BIT = 127;

/** Parses connlabel.conf text: "BIT NAME" per line, "#" comments; a later line for the same bit wins. */
export function parseConnlabelConf(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^(\d+)\s+(\S+)$/.exec(line);
    if (!match) continue;
    const bit = Number(match[1]);
    if (bit <= MAX_LABEL_BIT) names.set(bit, match[2]);
  }
  return names;
}

/** Reads connlabel.conf; an absent file means no names (undefined). Other read errors throw. */
export function loadConnlabelConf(path: string): Map<number, string> | undefined {
  try {
    return parseConnlabelConf(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The bits set in a CTA_LABELS bitmap, lowest first (bit n is bit n % 8 of byte n / 8, as the kernel sets them). */
export function labelBits(bitmap: Uint8Array | undefined): number[] {
  const bits: number[] = [];
  if (!bitmap) return bits;
  for (let byte = 0; byte < bitmap.length; byte++) {
    const value = bitmap[byte];
    if (!value) continue;
    for (let bit = 0; bit < 8; bit++) if (value & (1 << bit)) bits.push(byte * 8 + bit);
  }
  return bits;
}

/** A label's name, or its bit number as text when connlabel.conf does not name it. */
export const labelName = (bit: number, names: LabelNames | undefined): string => names?.get(bit) ?? String(bit);

/** Resolves a label as written (a name from connlabel.conf or a bit number) to its bit; undefined if unknown. */
export function labelBit(written: string, names: LabelNames | undefined): number | undefined {
  if (/^\d+$/.test(written)) {
    const bit = Number(written);
    return bit <= MAX_LABEL_BIT ? bit : undefined;
  }
  if (names) for (const [bit, name] of names) if (name === written) return bit;
  return undefined;
}
