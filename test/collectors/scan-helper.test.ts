/**
 * The helper thread of `fdleak scan` (scan-helper.ts, scan-worker.ts as `npm run build` bundles it):
 * its share of the walk and the table pipe, driven directly. The scan's own use of it is tested
 * against live processes in test/live/scan.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SLOT, SLOTS, startScanHelper } from '../../src/collectors/scan-helper.js';

const WORKER = new URL('../../dist/cli/scan-worker.js', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'fdleak-helper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A helper that has walked one unit (fdleak's own fd table), so it now serves tables. */
async function servingHelper(): Promise<NonNullable<ReturnType<typeof startScanHelper>>> {
  const helper = startScanHelper(WORKER)!;
  expect(await helper.ready()).toBe(true);
  const walk = helper.share('/proc', [{ pid: process.pid, count: 1 }])!;
  // The main thread claims nothing: the helper takes unit 0.
  expect(walk.take(0)).toMatchObject({ outcome: 'ok', fds: expect.any(Number) });
  return helper;
}

describe('the scan helper\'s table pipe', () => {
  it('hands over a file larger than its ring, byte for byte, piece by piece', async () => {
    const helper = await servingHelper();
    const text = readFileSync(new URL('../../fixtures/proc-net/tcp.txt', import.meta.url));
    const big = Buffer.concat(Array.from({ length: Math.ceil((SLOTS * SLOT * 2.5) / text.length) }, () => text));
    writeFileSync(join(dir, 'big'), big);
    const pieces: Buffer[] = [];
    for (const piece of helper.stream!(join(dir, 'big'))!) pieces.push(Buffer.from(piece)); // a copy: the slot is reused
    expect(pieces.length).toBeGreaterThan(SLOTS); // the ring went round
    expect(Buffer.concat(pieces).equals(big)).toBe(true);
    // The next table right after: the helper is back waiting.
    writeFileSync(join(dir, 'small'), 'x\n');
    expect([...helper.stream!(join(dir, 'small'))!].map(String)).toEqual(['x\n']);
    helper.finish!();
    expect(helper.stream!(join(dir, 'small'))).toBeUndefined();
  });

  it('gives back the errno of a file it cannot read, as reading it here would', async () => {
    const helper = await servingHelper();
    const missing = join(dir, 'missing');
    expect(() => [...helper.stream!(missing)!]).toThrowError(expect.objectContaining({ code: 'ENOENT' }));
    helper.finish!();
  });

  it('is not asked for tables when it took no part in the walk (it may never run)', async () => {
    const helper = startScanHelper(WORKER)!;
    const walk = helper.share('/proc', [{ pid: process.pid, count: 1 }])!;
    expect(walk.claim()).toBe(0); // the main thread took the only unit
    expect(helper.stream!('/proc/self/net/tcp')).toBeUndefined();
    helper.finish!();
  });
});
