// Kernel conntrack ids (unsigned 32-bit) to slot numbers, in two typed arrays. A Map<number, number> of a million
// ids is a million entries for the garbage collector to mark at every major collection, and about half of them hold
// heap numbers (ids of 2^31 and above are no small integers in V8): its marking made refreshes of a million entries
// stall. Here the whole map is two array buffers the collector does not look into. Open addressing with linear
// probing at most half full; deletion shifts the following entries back (no tombstones to sweep).

const EMPTY = -1;
const MIN_BITS = 4;

export class IdSlots {
  private bits = MIN_BITS;
  private keys = new Uint32Array(1 << MIN_BITS);
  /** The slot of each key; EMPTY where no key is (so any id, 0 included, can be a key). */
  private values = new Int32Array(1 << MIN_BITS).fill(EMPTY);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Fibonacci hashing: the top `bits` bits of id * 2^32/phi (consecutive ids spread over the table). */
  private home(id: number): number {
    return Math.imul(id, 0x9e3779b1) >>> (32 - this.bits);
  }

  /** Where `id` is, or the empty place where it would go. */
  private find(id: number): number {
    const mask = this.values.length - 1;
    let at = this.home(id);
    while (this.values[at] !== EMPTY && this.keys[at] !== id) at = (at + 1) & mask;
    return at;
  }

  /** The slot of `id`, or -1. */
  get(id: number): number {
    return this.values[this.find(id >>> 0)];
  }

  has(id: number): boolean {
    return this.get(id) !== EMPTY;
  }

  /** Maps `id` (0 ... 2^32 - 1) to `slot` (0 ... 2^31 - 1), replacing what it mapped to. */
  set(id: number, slot: number): void {
    const key = id >>> 0;
    let at = this.find(key);
    if (this.values[at] === EMPTY) {
      if ((this.count + 1) * 2 > this.values.length) {
        this.grow();
        at = this.find(key);
      }
      this.keys[at] = key;
      this.count++;
    }
    this.values[at] = slot;
  }

  /** Forgets `id`; whether it was there. */
  delete(id: number): boolean {
    let hole = this.find(id >>> 0);
    if (this.values[hole] === EMPTY) return false;
    const mask = this.values.length - 1;
    // Every entry after the hole, up to the next empty place, that may not sit beyond it moves into it.
    for (let at = (hole + 1) & mask; this.values[at] !== EMPTY; at = (at + 1) & mask) {
      const home = this.home(this.keys[at]);
      // Whether `home` lies cyclically in (hole, at]: then the entry is still reachable from its home.
      const reachable = hole <= at ? hole < home && home <= at : hole < home || home <= at;
      if (reachable) continue;
      this.keys[hole] = this.keys[at];
      this.values[hole] = this.values[at];
      hole = at;
    }
    this.values[hole] = EMPTY;
    this.count--;
    return true;
  }

  clear(): void {
    this.bits = MIN_BITS;
    this.keys = new Uint32Array(1 << MIN_BITS);
    this.values = new Int32Array(1 << MIN_BITS).fill(EMPTY);
    this.count = 0;
  }

  /** Room for `count` ids without growing (at most half full), made now: a growth rehashes every id in one go. */
  reserve(count: number): void {
    let bits = this.bits;
    while (count * 2 > 1 << bits) bits++;
    if (bits > this.bits) this.grow(bits);
  }

  private grow(bits = this.bits + 1): void {
    const keys = this.keys;
    const values = this.values;
    this.bits = bits;
    this.keys = new Uint32Array(1 << this.bits);
    this.values = new Int32Array(1 << this.bits).fill(EMPTY);
    for (let i = 0; i < values.length; i++) {
      if (values[i] === EMPTY) continue;
      const at = this.find(keys[i]);
      this.keys[at] = keys[i];
      this.values[at] = values[i];
    }
  }
}
