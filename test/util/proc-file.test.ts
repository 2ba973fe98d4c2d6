/**
 * readProcFile reads what readFileSync(path, 'latin1') reads, by its own loop (util/proc-file.ts
 * says why): on a /proc file of many small reads, on a file larger than its first buffer (so the
 * buffer doubles, and every byte value survives the latin1 round trip), and it throws as
 * readFileSync does where there is no file.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readProcFile } from '../../src/util/proc-file.js';

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

  it('throws ENOENT where there is no file, as readFileSync does', () => {
    expect(() => readProcFile(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
