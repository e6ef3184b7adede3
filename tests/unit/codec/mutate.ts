// Seeded mutations of captured entries, shared by the codec fuzz test and the snapshot builder's.

import { prng } from '@/lib/lab/seeder';

/** mulberry32 (the seeder's): small, seeded, reproducible. */
export { prng };

/** Offsets of every attribute header in buf (nested ones too), found by walking the bytes by hand. */
function headerOffsets(buf: Buffer, start = 0, end = buf.length, out: number[] = []): number[] {
  let offset = start;
  while (offset + 4 <= end) {
    const len = buf.readUInt16LE(offset);
    if (len < 4 || offset + len > end) break;
    out.push(offset);
    if (buf.readUInt16LE(offset + 2) & 0x8000) headerOffsets(buf, offset + 4, offset + len, out);
    offset += (len + 3) & ~3;
  }
  return out;
}

export function mutate(original: Buffer, random: () => number): Buffer {
  const buf = Buffer.from(original);
  const pick = (n: number): number => Math.floor(random() * n);
  const headers = headerOffsets(buf);
  const rounds = 1 + pick(3);
  let out = buf;
  for (let r = 0; r < rounds; r++) {
    switch (pick(6)) {
      case 0: {
        const i = pick(out.length);
        out[i] ^= 1 << pick(8);
        break;
      }
      case 1:
        out = out.subarray(0, pick(out.length + 1));
        break;
      case 2: {
        // A length field: off by a little, or anything.
        const h = headers[pick(headers.length)];
        if (h + 2 > out.length) break;
        const len = out.readUInt16LE(h);
        out.writeUInt16LE(random() < 0.5 ? Math.max(0, Math.min(0xffff, len + pick(9) - 4)) : pick(0x10000), h);
        break;
      }
      case 3: {
        // A type field: flags flipped or another type.
        const h = headers[pick(headers.length)];
        if (h + 4 > out.length) break;
        const type = out.readUInt16LE(h + 2);
        out.writeUInt16LE(random() < 0.5 ? type ^ (0x8000 >> pick(2)) : pick(40) | (type & 0x8000), h + 2);
        break;
      }
      case 4: {
        const i = pick(out.length);
        out[i] = pick(256);
        break;
      }
      default: {
        // Cut bytes out of the middle.
        const from = pick(out.length);
        out = Buffer.concat([out.subarray(0, from), out.subarray(from + 1 + pick(8))]);
      }
    }
  }
  return out;
}
