/**
 * The set of socket inodes that `fdleak scan`'s tally builds from a namespace's tables
 * (parse/proc-net-tally.ts): an open-addressing hash table in one Uint32Array, grown by doubling,
 * which the helper thread moves (transfers) to the main thread as it is rather than cloning it.
 * Read through the ReadonlySet<number> the scan's orphan check asks (has()).
 * Why not a Set:
 * - posted between threads, a Set is cloned: deserializing a 38,000-inode Set took the main
 *   thread 6-14 ms (receiveMessageOnPort, 5 runs on the 2-core VM), after its walk, while the
 *   helper had nothing left to do. This table's buffer is handed over in well under 1 ms;
 * - built, a Set of 38,600 inodes (the bench load's namespace) grows through hash tables of V8's
 *   own, each a fresh allocation: 7% of a scan's page faults were that growth (perf record -e
 *   page-faults, Runtime_SetGrow under the helper's tally), at 11-16 µs a fresh page on the lab VM;
 *   and packing it afterwards for the move took the helper 9 ms (cpu profile of a bench scan).
 * Socket inodes are unsigned 32-bit (the kernel's get_next_ino()), so they go in the table; 0 is a
 * flag of its own, and anything else (a tally of a crafted tree: larger or not whole) is kept in a
 * plain Set beside it, so the set holds whatever it is given.
 */

/** Slots per inode, at least: the table is kept at most half full, so a probe ends soon. */
const SPREAD = 2;

/** An InodeSet as it is moved between threads (pack(), InodeSet.unpack()). */
export interface Packed {
  slots: Uint32Array<ArrayBuffer>;
  used: number;
  zero: boolean;
  others: number[];
}

export class InodeSet implements ReadonlySet<number> {
  private slots: Uint32Array<ArrayBuffer>;
  private mask: number;
  /** Slots in use. */
  private used = 0;
  private zero = false;
  private others: Set<number> | null = null;

  /** `expected`: how many inodes it will likely hold (a hint: it grows past it). */
  constructor(expected = 0) {
    this.slots = new Uint32Array(new ArrayBuffer(capacityFor(expected) * 4));
    this.mask = this.slots.length - 1;
  }

  /** The set a pack() made, on the thread it was moved to. */
  static unpack(packed: Packed): InodeSet {
    const set = new InodeSet();
    set.slots = packed.slots;
    set.mask = packed.slots.length - 1;
    set.used = packed.used;
    set.zero = packed.zero;
    if (packed.others.length > 0) set.others = new Set(packed.others);
    return set;
  }

  get size(): number {
    return this.used + (this.zero ? 1 : 0) + (this.others?.size ?? 0);
  }

  add(inode: number): this {
    if (!(inode > 0 && inode <= 0xffff_ffff && Number.isInteger(inode))) {
      if (inode === 0) this.zero = true;
      else (this.others ??= new Set()).add(inode);
      return this;
    }
    if ((this.used + 1) * SPREAD > this.slots.length) this.grow();
    const { slots, mask } = this;
    for (let at = slotOf(inode, mask); ; at = (at + 1) & mask) {
      const slot = slots[at]!;
      if (slot === inode) return this;
      if (slot === 0) {
        slots[at] = inode;
        this.used++;
        return this;
      }
    }
  }

  has(inode: number): boolean {
    if (!(inode > 0 && inode <= 0xffff_ffff)) return inode === 0 ? this.zero : this.others?.has(inode) === true;
    const { slots, mask } = this;
    for (let at = slotOf(inode, mask); ; at = (at + 1) & mask) {
      const slot = slots[at]!;
      if (slot === inode) return true;
      if (slot === 0) return this.others?.has(inode) === true; // in range but not whole (1.5): kept in others
    }
  }

  /** Its contents, to be moved to another thread (transfer packed.slots.buffer); this set must not be used after. */
  pack(): Packed {
    return { slots: this.slots, used: this.used, zero: this.zero, others: this.others === null ? [] : [...this.others] };
  }

  *values(): SetIterator<number> {
    if (this.zero) yield 0;
    for (const slot of this.slots) if (slot !== 0) yield slot;
    if (this.others !== null) yield* this.others;
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

  /** Twice the slots, every inode placed again. */
  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(new ArrayBuffer(old.length * 2 * 4));
    this.mask = this.slots.length - 1;
    const { slots, mask } = this;
    for (let k = 0; k < old.length; k++) {
      const inode = old[k]!;
      if (inode === 0) continue;
      let at = slotOf(inode, mask);
      while (slots[at] !== 0) at = (at + 1) & mask; // no duplicate: the first empty slot is its
      slots[at] = inode;
    }
  }
}

/** The smallest power of two, 16 at least, holding `expected` inodes at most half full. */
function capacityFor(expected: number): number {
  let capacity = 16;
  while (capacity < expected * SPREAD) capacity *= 2;
  return capacity;
}

/** The first slot probed for `inode`: its multiplicative hash (inodes are handed out in sequence). */
function slotOf(inode: number, mask: number): number {
  return (Math.imul(inode, 0x9e3779b1) >>> 0) & mask;
}
