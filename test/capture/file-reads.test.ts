import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FileReads } from '../../src/capture/file-reads.js';

const FIXTURE = new URL('../../fixtures/lsof/list-everything.txt', import.meta.url).pathname;

/** Whether this process holds `path` open (its fd table, read from /proc). */
const holds = (path: string): boolean =>
  readdirSync('/proc/self/fd').some((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === path; } catch { return false; } });

describe('FileReads', () => {
  it('gives the file\'s bytes read after read, each a view of one buffer, and closes the file at the end', async () => {
    const whole = readFileSync(FIXTURE);
    expect(whole.length).toBeGreaterThan(3 * 1000);
    const reads = new FileReads(await open(FIXTURE, 'r'), 1000);
    const copies: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for await (const bytes of reads) {
      expect(bytes.length).toBeLessThanOrEqual(1000);
      buffers.add(bytes.buffer);
      copies.push(Buffer.from(bytes)); // a view is valid until the next read only
    }
    expect(Buffer.concat(copies).equals(whole)).toBe(true);
    expect(copies.length).toBe(Math.ceil(whole.length / 1000));
    expect(buffers.size).toBe(2); // one read ahead
    await new Promise((resolve) => setTimeout(resolve, 50)); // the close is not awaited
    expect(holds(FIXTURE)).toBe(false);
  });

  it('close() mid-way: no more reads, the file closed', async () => {
    const reads = new FileReads(await open(FIXTURE, 'r'), 100);
    expect(holds(FIXTURE)).toBe(true);
    let n = 0;
    for await (const bytes of reads) {
      expect(bytes.length).toBe(100);
      if (++n === 2) reads.close();
    }
    expect(n).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(holds(FIXTURE)).toBe(false);
  });
});
