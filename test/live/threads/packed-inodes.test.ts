/**
 * The packed inode table the scan's helper thread hands over instead of a Set (packed-inodes.ts):
 * packed from the tally of this box's own socket tables (read once here), it must answer has()
 * exactly as that Set does, for each of its inodes and for inodes next to them that it lacks, and
 * hold the same inodes when iterated.
 */
import { describe, expect, it } from 'vitest';
import { NODE_FS } from '../../../src/live/fd-walk.js';
import { readNamespace } from '../../../src/live/net-tables.js';
import { pack, PackedInodes } from '../../../src/live/threads/packed-inodes.js';

describe('packed inodes', () => {
  it('answers has() as the tally Set of this box\'s tables does, and iterates the same inodes', () => {
    const set = readNamespace(NODE_FS, '/proc', ['self'])!.tally.inodes;
    expect(set.size).toBeGreaterThan(0); // the test runner's own sockets at least
    const packed = new PackedInodes(pack(set)!);
    expect(packed.size).toBe(set.size);
    for (const inode of set) {
      expect(packed.has(inode)).toBe(true);
      for (const near of [inode - 1, inode + 1, inode + 1024]) expect(packed.has(near), String(near)).toBe(set.has(near));
    }
    expect([...packed].sort((a, b) => a - b)).toEqual([...set].sort((a, b) => a - b));
    expect([...packed.entries()].every(([k, v]) => k === v && set.has(k))).toBe(true);
  });

  it('holds many inodes in sequence (as the kernel hands them out), 0 and the largest; packs nothing else', () => {
    const set = new Set<number>([0, 0xffff_ffff]);
    for (let i = 0; i < 40_000; i++) set.add(3_000_000 + i * 3);
    const packed = new PackedInodes(pack(set)!);
    const wrong: number[] = [];
    for (let i = 2_999_990; i < 3_120_010; i++) if (packed.has(i) !== set.has(i)) wrong.push(i);
    expect(wrong).toEqual([]);
    expect(packed.has(0)).toBe(true);
    expect(packed.has(0xffff_ffff)).toBe(true);
    expect(packed.has(-1)).toBe(false);
    expect(packed.has(2 ** 32 + 3_000_000)).toBe(false);
    expect(new PackedInodes(pack(new Set([5]))!).has(0)).toBe(false);
    expect(pack(new Set([1, 2 ** 32]))).toBeUndefined();
    expect(pack(new Set([1.5]))).toBeUndefined();
  });
});
