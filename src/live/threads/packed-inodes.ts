/**
 * A namespace's socket inodes as the scan's helper thread hands them to the main thread: an
 * open-addressing hash table in one Uint32Array, moved (transferred) rather than copied, and read
 * on the main thread through the ReadonlySet<number> the scan's orphan check asks (has()).
 * Why: a tally's inodes are a Set of every row (38,600 on the bench load's namespace), and a Set
 * posted between threads is cloned: deserializing it took the main thread 6-14 ms (receiveMessageOnPort,
 * 5 runs of a 38,000-inode Set on the 2-core VM; 9.7 + 8.3 ms of a CPU-profiled bench scan), after
 * its walk, while the helper had nothing left to do. Packed, the helper builds the table (~1 ms for
 * 38,000 inodes) and the main thread receives it in well under 1 ms.
 * Socket inodes are unsigned 32-bit (the kernel's get_next_ino()); a set holding anything else is
 * not packed (pack() returns undefined) and goes as a Set, as before.
 */

/** Slots per inode, at least: the table is kept at most half full, so a probe ends soon. */
const SPREAD = 2;

/** The packed form of a set of inodes: slots (0: empty), and whether 0 itself is in the set. */
export interface Packed {
  slots: Uint32Array<ArrayBuffer>;
  size: number;
  zero: boolean;
}

/** Packs `inodes` (every one a whole number in [0, 2^32)); undefined if one is not. */
export function pack(inodes: ReadonlySet<number>): Packed | undefined {
  let capacity = 16;
  while (capacity < inodes.size * SPREAD) capacity *= 2;
  const slots = new Uint32Array(new ArrayBuffer(capacity * 4));
  const mask = capacity - 1;
  let zero = false;
  for (const inode of inodes) {
    if (!Number.isInteger(inode) || inode < 0 || inode > 0xffff_ffff) return undefined;
    if (inode === 0) {
      zero = true;
      continue;
    }
    let at = slotOf(inode, mask);
    while (slots[at] !== 0) at = (at + 1) & mask; // a set has no duplicate: the first empty slot is its
    slots[at] = inode;
  }
  return { slots, size: inodes.size, zero };
}

/** The first slot probed for `inode`: its multiplicative hash (inodes are handed out in sequence). */
function slotOf(inode: number, mask: number): number {
  return (Math.imul(inode, 0x9e3779b1) >>> 0) & mask;
}

/** A packed set read as a ReadonlySet<number>. */
export class PackedInodes implements ReadonlySet<number> {
  readonly size: number;
  private readonly slots: Uint32Array;
  private readonly mask: number;
  private readonly zero: boolean;

  constructor(packed: Packed) {
    this.slots = packed.slots;
    this.size = packed.size;
    this.mask = packed.slots.length - 1;
    this.zero = packed.zero;
  }

  has(inode: number): boolean {
    if (inode === 0) return this.zero;
    if (!(inode > 0 && inode <= 0xffff_ffff)) return false;
    for (let at = slotOf(inode, this.mask); ; at = (at + 1) & this.mask) {
      const slot = this.slots[at]!;
      if (slot === inode) return true;
      if (slot === 0) return false;
    }
  }

  *values(): SetIterator<number> {
    if (this.zero) yield 0;
    for (const slot of this.slots) if (slot !== 0) yield slot;
  }

  keys(): SetIterator<number> {
    return this.values();
  }

  *entries(): SetIterator<[number, number]> {
    for (const v of this.values()) yield [v, v];
  }

  [Symbol.iterator](): SetIterator<number> {
    return this.values();
  }

  forEach(callback: (value: number, key: number, set: ReadonlySet<number>) => void, thisArg?: unknown): void {
    for (const v of this.values()) callback.call(thisArg, v, v, this);
  }
}
