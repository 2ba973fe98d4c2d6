/**
 * The inode set scan's tally builds and its helper thread moves whole (util/inode-set.ts): it must
 * answer has() exactly as a Set of the same inodes does, for each of them and for inodes next to
 * them that it lacks, hold the same inodes when iterated, and do so again once packed and unpacked
 * (what the move does). Checked on this box's own socket tables (read once here) and on sets built
 * to push it: many inodes in sequence, as the kernel hands them out, growing from the smallest
 * table, with 0, 2^32 - 1 and values no socket inode can be.
 */
import { describe, expect, it } from 'vitest';
import { NODE_FS } from '../../src/live/fd-walk.js';
import { readNamespace } from '../../src/live/net-tables.js';
import { InodeSet } from '../../src/util/inode-set.js';

/** Every disagreement between `set` and the reference Set `ref` on `probes` and on iteration. */
function disagreements(set: ReadonlySet<number>, ref: ReadonlySet<number>, probes: Iterable<number>): string[] {
  const wrong: string[] = [];
  for (const p of probes) if (set.has(p) !== ref.has(p)) wrong.push(`has(${p})`);
  if (set.size !== ref.size) wrong.push(`size ${set.size} vs ${ref.size}`);
  const sorted = (s: Iterable<number>): number[] => [...s].sort((a, b) => a - b);
  if (JSON.stringify(sorted(set)) !== JSON.stringify(sorted(ref))) wrong.push('iteration');
  return wrong;
}

describe('InodeSet', () => {
  it('holds what the tally of this box\'s tables read, and the same once moved (packed and unpacked)', () => {
    const set = readNamespace(NODE_FS, '/proc', ['self'])!.tally.inodes;
    expect(set).toBeInstanceOf(InodeSet);
    const ref = new Set(set);
    expect(ref.size).toBeGreaterThan(0); // the test runner's own sockets at least
    const probes = [...ref].flatMap((i) => [i, i - 1, i + 1, i + 1024]);
    expect(disagreements(set, ref, probes)).toEqual([]);
    expect(disagreements(InodeSet.unpack(set.pack()), ref, probes)).toEqual([]);
  });

  it('grows from its smallest table through 40,000 inodes in sequence, as a Set of them', () => {
    const set = new InodeSet();
    const ref = new Set<number>();
    for (let i = 0; i < 40_000; i++) {
      const inode = 3_000_000 + i * 3;
      set.add(inode);
      ref.add(inode);
      if (i % 7 === 0) set.add(inode); // twice: still once
    }
    const probes = function* (): Iterable<number> {
      for (let i = 2_999_990; i < 3_120_010; i++) yield i;
    };
    expect(disagreements(set, ref, probes())).toEqual([]);
    expect(disagreements(InodeSet.unpack(set.pack()), ref, probes())).toEqual([]);
  });

  it('keeps 0, the largest inode and values no socket inode can be, beside the table', () => {
    const values = [0, 1, 0xffff_ffff, 2 ** 32, 2 ** 32 + 3_000_000, 1.5, -1, Number.MAX_SAFE_INTEGER];
    const set = new InodeSet(4);
    for (const v of values) set.add(v);
    const ref = new Set(values);
    const probes = [...values, 2, 0xffff_fffe, 2 ** 32 + 1, 2.5, -2];
    expect(disagreements(set, ref, probes)).toEqual([]);
    expect(disagreements(InodeSet.unpack(set.pack()), ref, probes)).toEqual([]);
    expect(new InodeSet().has(0)).toBe(false);
    expect([...set.entries()].every(([k, v]) => k === v && ref.has(k))).toBe(true);
  });
});
