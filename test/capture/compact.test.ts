import { describe, expect, it } from 'vitest';
import { IntRows, U32Map } from '../../src/capture/compact.js';

/** A small deterministic generator (xorshift32), so that a failure repeats. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

describe('U32Map', () => {
  it('answers as a Map does, get() then getOrAdd() of the same key or another, through growth', () => {
    const next = random(0x2545f491);
    const map = new U32Map();
    const ref = new Map<number, number>();
    const wrong: string[] = [];
    // keys from a small range repeat (met again), from the whole range are mostly new
    const key = (): number => (next() % 2 === 0 ? 1 + (next() % 5000) : 1 + (next() % 0xfffffffe));
    for (let n = 0; n < 200_000; n++) {
      const k = key();
      const value = next() % (n < 100_000 ? 0xffff : 0x7fffffff); // values past 2^16 widen the table
      if (map.get(k) !== ref.get(k)) wrong.push(`get ${k} at ${n}`);
      // getOrAdd of the key get() just probed (the slot it remembers), or of another one
      const other = next() % 4 === 0 ? key() : k;
      const before = ref.get(other);
      if (map.getOrAdd(other, value) !== before) wrong.push(`getOrAdd ${other} at ${n}`);
      if (before === undefined) ref.set(other, value);
    }
    expect(map.size).toBe(ref.size);
    for (const [k, v] of ref) if (map.get(k) !== v) wrong.push(`${k} at the end`);
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('answers as a Map does for keys in runs (16 consecutive keys share a block of slots), runs that overlap included', () => {
    const map = new U32Map();
    const ref = new Map<number, number>();
    const wrong: string[] = [];
    // runs of consecutive inodes as lsof lists them, copies of one process's run shifted by less than a block, and the top keys
    const runs = [[17_759_404, 15_000], [17_759_410, 15_000], [3, 40], [0xffffffff - 100, 101], [1 << 20, 70_000]] as const;
    for (const [from, n] of runs) {
      for (let k = from; k < from + n; k++) {
        const before = ref.get(k);
        if (map.getOrAdd(k, k & 0x7fff) !== before) wrong.push(`getOrAdd ${k}`);
        if (before === undefined) ref.set(k, k & 0x7fff);
      }
    }
    expect(map.size).toBe(ref.size);
    for (const [k, v] of ref) if (map.get(k) !== v) wrong.push(`${k} at the end`);
    for (const k of [1, 2, 43, 17_759_403, 17_774_410, (1 << 20) + 70_000]) if (map.get(k) !== undefined) wrong.push(`${k} never added`);
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('reserve(n): keys held before it kept, n keys added after it without growing, answers as a Map does', () => {
    const next = random(0x1b873593);
    const map = new U32Map();
    const ref = new Map<number, number>();
    const add = (k: number): void => {
      const before = ref.get(k);
      expect(map.getOrAdd(k, k & 0xffff)).toBe(before);
      if (before === undefined) ref.set(k, k & 0xffff);
    };
    for (let n = 0; n < 5_000; n++) add(1 + (next() % 0xfffffffe)); // some held before
    map.reserve(100_000);
    const sizes = map.parts().keys.map((k) => k.length);
    for (const size of sizes) expect(size === 64 * 2 ** Math.round(Math.log2(size / 64)) || size === 96 * 2 ** Math.round(Math.log2(size / 96))).toBe(true);
    for (let n = 0; n < 95_000; n++) add(n % 2 === 0 ? 17_759_404 + n : 1 + (next() % 0xfffffffe));
    expect(map.parts().keys.map((k) => k.length), 'no shard grew').toEqual(sizes);
    expect(map.size).toBe(ref.size);
    for (const [k, v] of ref) expect(map.get(k)).toBe(v);
    map.reserve(10); // less than it holds: nothing changes
    expect(map.parts().keys.map((k) => k.length)).toEqual(sizes);
  });
});

describe('IntRows', () => {
  it('append() holds what pushing the same rows one by one holds, across 64K-row blocks on both sides; set() changes one cell', () => {
    const next = random(0x1d872b41);
    const row = (): number[] => [next() | 0, next() | 0, next() | 0];
    // sizes that start and end mid-block, and a whole block or more
    for (const [a, b] of [[0, 5], [70_000, 100_000], [65_536, 65_536], [1, 140_000], [131_000, 0]] as const) {
      const rowsA = Array.from({ length: a }, row);
      const rowsB = Array.from({ length: b }, row);
      const appended = new IntRows(3);
      for (const r of rowsA) appended.push(...(r as [number, number, number]));
      const other = new IntRows(3);
      for (const r of rowsB) other.push(...(r as [number, number, number]));
      expect(appended.append(other)).toBe(a);
      const pushed = new IntRows(3);
      for (const r of [...rowsA, ...rowsB]) pushed.push(...(r as [number, number, number]));
      appended.push(1, 2, 3); // and pushing on after it
      pushed.push(1, 2, 3);
      expect(appended.length).toBe(a + b + 1);
      const cells = (rows: IntRows): number[] => Array.from({ length: rows.length * 3 }, (_, i) => rows.get(Math.floor(i / 3), i % 3));
      expect(cells(appended)).toEqual(cells(pushed));
    }
    const rows = new IntRows(2);
    rows.push(5, 6);
    rows.set(0, 1, -7);
    expect([rows.get(0, 0), rows.get(0, 1)]).toEqual([5, -7]);
    expect(() => rows.append(new IntRows(3))).toThrow(/width/);
  });
});
