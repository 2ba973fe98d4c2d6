/**
 * Hash tables of numbers in typed arrays, for what a large capture keeps per socket: a JS Map or
 * Set spends 30-80 bytes an entry (and a heap number for keys past 2^30); these spend 4-8 bytes a
 * slot, at most 3/4 full. Open addressing, linear probing, no deletion.
 */

/** Knuth's multiplicative hash of a 32-bit key into `mask + 1` slots. */
function slotOf(key: number, mask: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
}

/**
 * The hash of a U32Map key: the same for the 16 keys of a run (k & ~15 .. k | 15), which then share
 * a block of 16 slots, one cache line of keys. Socket inodes come mostly in runs (the kernel numbers
 * them in turn, lsof lists a process's fds in order): a hash per key put every new inode in a cache
 * line of its own, a miss in a big table (the 1M-line socket-heavy bench: ~180 ms in get()).
 */
function blockHash(key: number): number {
  return Math.imul(key >>> 4, 0x9e3779b1) >>> 0;
}

/**
 * Keys 1 .. 2^32-1 (socket inodes: the kernel's get_next_ino() numbers are 32-bit), each with a
 * value 0 .. 2^31-1: 6 bytes a slot while every value is below 2^16, 8 after, at most 4/5 full. In 16 shards that grow one at a time by half
 * (2^k, 1.5 * 2^k, 2^(k+1), ...: a slot is found by multiplying, not masking), so that growing
 * costs a few percent more for a moment, not twice the table.
 */
export class U32Map {
  private readonly keys: Uint32Array[] = [];
  private values: Array<Uint16Array | Int32Array> = [];
  private readonly counts = new Int32Array(16);
  size = 0;
  /** The smallest and largest key (none yet: min > max). */
  min = 0xffffffff;
  max = 0;

  constructor() {
    for (let i = 0; i < 16; i++) {
      this.keys.push(new Uint32Array(64));
      this.values.push(new Uint16Array(64));
    }
  }

  /** Values past 2^16: every shard's values as int32 from now on. */
  private widen(): void {
    this.values = this.values.map((v) => Int32Array.from(v));
  }

  /** The slot of `key` in a shard's keys: its own, or the empty one where it would go. */
  private find(keys: Uint32Array, key: number, hash: number): number {
    const size = keys.length;
    // the hash's low 24 bits scaled to the blocks (its top 4 bits chose the shard), the key's low bits
    // within. The same slot as floor(h * blocks / 2^24), in doubles from the first call (exact: h *
    // blocks < 2^44): as an int product V8 compiled it for int32 while the shards were small and
    // threw that code away once a shard passed 2,048 slots (--trace-deopt "overflow": find and the
    // five functions it is inlined in, twice per thread, on the 1M-line socket-heavy analyze).
    // End to end within noise there (21 paired runs: wall 0.99x, CPU 0.99x).
    const scale = (size >>> 4) / 16777216;
    let i = (Math.floor((hash & 0xffffff) * scale) << 4) | (key & 15);
    for (;;) {
      const k = keys[i]!;
      if (k === key || k === 0) return i;
      if (++i === size) i = 0;
    }
  }

  /**
   * The key get() asked last and its slot: a getOrAdd() of that key right after reuses the slot
   * instead of probing again (SocketFold asks get() then getOrAdd() of most rows; a probe of a big
   * table is mostly a cache miss). Any insertion (and growth) forgets it: 0 is no key.
   */
  private probedKey = 0;
  private probedAt = 0;

  /** The value of `key`, or undefined. */
  get(key: number): number | undefined {
    const hash = blockHash(key);
    const shard = hash >>> 28;
    const keys = this.keys[shard]!;
    const i = this.find(keys, key, hash);
    this.probedKey = key;
    this.probedAt = i;
    return keys[i] === 0 ? undefined : this.values[shard]![i];
  }

  /** Sets `key` to `value` unless it is there; returns whether it was added. */
  add(key: number, value: number): boolean {
    return this.getOrAdd(key, value) === undefined;
  }

  /** The value of `key`; if it has none, sets it to `value` and returns undefined (one lookup for both). */
  getOrAdd(key: number, value: number): number | undefined {
    const hash = blockHash(key);
    const shard = hash >>> 28;
    let keys = this.keys[shard]!;
    let i = key === this.probedKey ? this.probedAt : this.find(keys, key, hash);
    if (keys[i] !== 0) return this.values[shard]![i];
    this.probedKey = 0;
    if (value > 0xffff && this.values[0] instanceof Uint16Array) this.widen();
    if ((this.counts[shard]! + 1) * 5 > keys.length * 4) {
      keys = this.grow(shard);
      i = this.find(keys, key, hash);
    }
    keys[i] = key;
    this.values[shard]![i] = value;
    this.counts[shard]!++;
    this.size++;
    if (key < this.min) this.min = key;
    if (key > this.max) this.max = key;
    return undefined;
  }

  /** Every key, in no particular order. */
  forEachKey(fn: (key: number) => void): void {
    for (const keys of this.keys) for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) fn(keys[i]!);
  }

  /** Its arrays, to post to another thread (transferable) and rebuild there with U32Map.from(). */
  parts(): U32MapParts {
    return { keys: [...this.keys], values: [...this.values], counts: this.counts, size: this.size, min: this.min, max: this.max };
  }

  static from(parts: U32MapParts): U32Map {
    const map = new U32Map();
    map.keys.splice(0, 16, ...parts.keys);
    map.values = [...parts.values];
    map.counts.set(parts.counts);
    map.size = parts.size;
    map.min = parts.min;
    map.max = parts.max;
    return map;
  }

  /**
   * Room for `n` keys in all (up to 4/5 full), made now rather than by growing step by step: each
   * step rehashes what the shard holds, ~2x the keys in all over 1.5x steps (the 1M-line
   * socket-heavy capture: grow() ~1.7% of the samples, perf). Sizes stay on the 2^k, 1.5 * 2^k steps.
   */
  reserve(n: number): void {
    const perShard = Math.ceil(n / 16);
    for (let shard = 0; shard < 16; shard++) {
      let size = this.keys[shard]!.length;
      while (perShard * 5 > size * 4) size = stepAfter(size);
      if (size > this.keys[shard]!.length) this.resize(shard, size);
    }
    this.probedKey = 0;
  }

  private grow(shard: number): Uint32Array {
    return this.resize(shard, stepAfter(this.keys[shard]!.length));
  }

  private resize(shard: number, size: number): Uint32Array {
    const keys = this.keys[shard]!;
    const values = this.values[shard]!;
    const grownKeys = new Uint32Array(size);
    const grownValues = values instanceof Uint16Array ? new Uint16Array(size) : new Int32Array(size);
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (k === 0) continue;
      const i = this.find(grownKeys, k, blockHash(k));
      grownKeys[i] = k;
      grownValues[i] = values[j]!;
    }
    this.keys[shard] = grownKeys;
    this.values[shard] = grownValues;
    return grownKeys;
  }
}

/** The shard size after `size`: 2^k -> 1.5 * 2^k -> 2^(k+1). */
function stepAfter(size: number): number {
  return (size & (size - 1)) === 0 ? size * 1.5 : (size / 3) * 4;
}

export interface U32MapParts {
  keys: Uint32Array[];
  values: Array<Uint16Array | Int32Array>;
  counts: Int32Array;
  size: number;
  min: number;
  max: number;
}

/** Whole numbers 0 .. 2^53-2: 8 bytes a slot (a key is stored plus one, 0 marks an empty slot). */
export class NumberSet {
  private keys = new Float64Array(16);
  private mask = 15;
  size = 0;

  private find(stored: number): number {
    const { keys, mask } = this;
    // the low 32 bits and the bits above them, folded
    let i = slotOf((stored >>> 0) ^ Math.floor(stored / 4294967296), mask);
    for (;;) {
      const k = keys[i]!;
      if (k === stored || k === 0) return i;
      i = (i + 1) & mask;
    }
  }

  has(key: number): boolean {
    return this.keys[this.find(key + 1)] !== 0;
  }

  /** Adds `key`; returns whether it was new. */
  add(key: number): boolean {
    const stored = key + 1;
    let i = this.find(stored);
    if (this.keys[i] !== 0) return false;
    if ((this.size + 1) * 4 > this.keys.length * 3) {
      const old = this.keys;
      this.keys = new Float64Array(old.length * 2);
      this.mask = old.length * 2 - 1;
      for (let j = 0; j < old.length; j++) if (old[j] !== 0) this.keys[this.find(old[j]!)] = old[j]!;
      i = this.find(stored);
    }
    this.keys[i] = stored;
    this.size++;
    return true;
  }

  /** Every number, in no particular order. */
  forEach(fn: (key: number) => void): void {
    for (const k of this.keys) if (k !== 0) fn(k - 1);
  }
}

/**
 * Columns of small integers appended row by row, in blocks of 64K rows (no copy when it grows, and
 * at most one partly used block): `width` int32 columns a row.
 */
export class IntRows {
  private readonly blocks: Int32Array[] = [];
  length = 0;

  /** `width`: 1 to 5 columns. */
  constructor(private readonly width: number) {
    if (!(width >= 1 && width <= 5)) throw new Error(`IntRows: ${width} columns (1 to 5)`);
  }

  /**
   * Appends a row: its first `width` values (the others unused). Values, not an array: the fold
   * pushes a row for every CLOSE_WAIT socket and every socket fd without a row (~260,000 of the
   * 1M-line socket-heavy capture), and an array a row was garbage the young generation had to
   * take (and a second array shape, doubles, threw the optimized push away: --trace-deopt).
   */
  push(c0: number, c1 = 0, c2 = 0, c3 = 0, c4 = 0): void {
    const at = this.length & 0xffff;
    const w = this.width;
    if (at === 0) this.blocks.push(new Int32Array(w << 16));
    const block = this.blocks[this.blocks.length - 1]!;
    const base = at * w;
    block[base] = c0;
    if (w > 1) block[base + 1] = c1;
    if (w > 2) block[base + 2] = c2;
    if (w > 3) block[base + 3] = c3;
    if (w > 4) block[base + 4] = c4;
    this.length++;
  }

  /**
   * The blocks the rows live in: cell c of row r is blocks[r >>> 16][(r & 0xffff) * width + c]. For
   * loops run once over many rows (the rules after a big read run cold, mostly unoptimized), where
   * a get() call a cell costs more than the load.
   */
  get rawBlocks(): readonly Int32Array[] {
    return this.blocks;
  }

  /** Its blocks, to post to another thread (transferable) and read there with IntRows.from(). */
  parts(): IntRowsParts {
    return { width: this.width, blocks: this.blocks, length: this.length };
  }

  static from(parts: IntRowsParts): IntRows {
    const rows = new IntRows(parts.width);
    rows.blocks.push(...parts.blocks);
    rows.length = parts.length;
    return rows;
  }

  /** Column `c` of row `row`. */
  get(row: number, c: number): number {
    return this.blocks[row >>> 16]![(row & 0xffff) * this.width + c]!;
  }

  /** Sets column `c` of row `row` (a row pushed or appended already). */
  set(row: number, c: number, value: number): void {
    this.blocks[row >>> 16]![(row & 0xffff) * this.width + c] = value;
  }

  /**
   * Appends every row of `other` (as wide), a run of whole rows at a time (typed-array copies, not
   * a push of an array a row); returns the number of its first row here.
   */
  append(other: IntRows): number {
    if (other.width !== this.width) throw new Error('IntRows.append: another width');
    const base = this.length;
    const w = this.width;
    for (let r = 0; r < other.length;) {
      const at = this.length & 0xffff;
      if (at === 0) this.blocks.push(new Int32Array(w << 16));
      const from = r & 0xffff;
      // as many rows as fit in this block and are left in other's current block
      const n = Math.min(0x10000 - at, 0x10000 - from, other.length - r);
      this.blocks[this.blocks.length - 1]!.set(other.blocks[r >>> 16]!.subarray(from * w, (from + n) * w), at * w);
      this.length += n;
      r += n;
    }
    return base;
  }
}

export interface IntRowsParts {
  width: number;
  blocks: Int32Array[];
  length: number;
}
