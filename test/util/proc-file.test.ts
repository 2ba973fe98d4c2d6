/**
 * readProcFile reads what readFileSync(path, 'latin1') reads, by its own loop (util/proc-file.ts
 * says why): on a /proc file of many small reads, on a file larger than its first buffer (so the
 * buffer grows, and every byte value survives the latin1 round trip), and it throws as
 * readFileSync does where there is no file. ProcFileReader.pieces hands out the same bytes in
 * pieces of whole lines no larger than the first buffer (but a longer line whole).
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcFileReader, readProcFile } from '../../src/util/proc-file.js';

const dir = mkdtempSync(join(tmpdir(), 'fdleak-proc-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readProcFile', () => {
  it('reads a /proc file the kernel gives a page at a time, as readFileSync does', (ctx) => {
    // /proc/kallsyms: megabytes, stable, and handed out ~4 KiB per read() like a /proc/net table.
    let theirs: string | undefined;
    try {
      theirs = readFileSync('/proc/kallsyms', 'latin1');
    } catch (error) {
      ctx.skip(`/proc/kallsyms cannot be read here: ${String(error)}`);
    }
    const ours = readProcFile('/proc/kallsyms');
    expect(ours.length).toBeGreaterThan(1_000_000);
    expect(ours).toBe(theirs);
  });

  it('grows its buffer for a file larger than the first one, every byte value kept', () => {
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
    const path = join(dir, 'big');
    writeFileSync(path, bytes);
    const text = readProcFile(path);
    expect(text).toBe(readFileSync(path, 'latin1'));
    expect(Buffer.from(text, 'latin1').equals(bytes)).toBe(true);
    writeFileSync(join(dir, 'empty'), '');
    expect(readProcFile(join(dir, 'empty'))).toBe('');
  });

  it('falls back to doubling where its big buffer cannot be had (a low ulimit -v)', () => {
    const path = join(dir, 'doubling');
    const bytes = Buffer.alloc(300_000, 'x');
    writeFileSync(path, bytes);
    const real = Buffer.allocUnsafeSlow;
    const asked: number[] = [];
    Buffer.allocUnsafeSlow = ((size: number) => {
      asked.push(size);
      if (size >= 16 << 20) throw new RangeError('Array buffer allocation failed');
      return real(size);
    }) as typeof real;
    let text: string;
    try {
      text = new ProcFileReader().read(path).toString('latin1');
    } finally {
      Buffer.allocUnsafeSlow = real;
    }
    expect(text).toBe(bytes.toString('latin1'));
    expect(asked).toEqual([64 << 10, 16 << 20, 128 << 10, 256 << 10, 512 << 10]);
  });

  it('throws ENOENT where there is no file, as readFileSync does', () => {
    expect(() => readProcFile(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('ProcFileReader.pieces', () => {
  /** Copies of the pieces (each is valid only during its call). */
  const piecesOf = (path: string, reader = new ProcFileReader()): Buffer[] => {
    const pieces: Buffer[] = [];
    reader.pieces(path, (piece) => pieces.push(Buffer.from(piece)));
    return pieces;
  };

  it('hands out a /proc file the kernel gives a page at a time, in pieces of whole lines', (ctx) => {
    let theirs: Buffer | undefined;
    try {
      theirs = readFileSync('/proc/kallsyms');
    } catch (error) {
      ctx.skip(`/proc/kallsyms cannot be read here: ${String(error)}`);
    }
    const pieces = piecesOf('/proc/kallsyms');
    expect(pieces.length).toBeGreaterThan(10);
    expect(Buffer.concat(pieces).equals(theirs!)).toBe(true);
    for (const piece of pieces.slice(0, -1)) {
      expect(piece.length).toBeLessThanOrEqual(64 * 1024);
      expect(piece.at(-1)).toBe(10);
    }
  });

  it('hands a line longer than its buffer out whole, and an empty file as one empty piece', () => {
    const long = `${'x'.repeat(200_000)}\n`;
    const text = `first\n${long}last line without an end`;
    const path = join(dir, 'long-line');
    writeFileSync(path, text);
    const reader = new ProcFileReader(1024);
    const pieces = piecesOf(path, reader);
    expect(Buffer.concat(pieces).toString('latin1')).toBe(text);
    expect(pieces.some((p) => p.toString('latin1').includes(long))).toBe(true); // not cut
    expect(pieces[0]!.toString('latin1')).toBe('first\n');
    expect(pieces.at(-1)!.toString('latin1')).toMatch(/\nlast line without an end$/);
    for (const piece of pieces.slice(0, -1)) expect(piece.at(-1)).toBe(10);
    // The reader still reads whole files after that.
    expect(reader.read(path).toString('latin1')).toBe(text);
    writeFileSync(join(dir, 'empty'), '');
    expect(piecesOf(join(dir, 'empty')).map((p) => p.length)).toEqual([0]);
    expect(() => piecesOf(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
