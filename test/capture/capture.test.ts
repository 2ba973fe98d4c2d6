/**
 * analyzeCapture streams its inputs: however the reads cut a capture (a pipe gives 64 KiB at a time,
 * a file 1 MiB, a slow writer a few bytes), the snapshot is the same as from one read of the whole.
 * Real captures of every format, repeated so that they span many chunks, read in reads of random sizes.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import { fixture, rng } from '../parse/fuzz.js';

const TAKEN_AT = '2026-11-22T00:00:00.000Z';

/** The snapshot and summaries of one capture given as `reads`. */
async function analyze(reads: Buffer[]): Promise<unknown> {
  const stream = await openLines('-', Readable.from(reads, { objectMode: true }));
  const { snapshot, inputs, skippedLines } = await analyzeCapture([stream], undefined, TAKEN_AT);
  return { snapshot, inputs, skippedLines };
}

/** `text` cut into reads of 1 to `max` bytes. */
function cutUp(text: string, r: () => number, max: number): Buffer[] {
  const bytes = Buffer.from(text, 'latin1');
  const reads: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(r() * max);
    reads.push(bytes.subarray(at, at + n));
    at += n;
  }
  return reads;
}

/** A capture with its body repeated until it is past `bytes` (a header kept once where it has one). */
function repeated(text: string, headerLines: number, bytes: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const head = lines.slice(0, headerLines);
  const body = lines.slice(headerLines);
  const out = [...head];
  let size = 0;
  while (size < bytes) {
    out.push(...body);
    size += body.join('\n').length;
  }
  return `${out.join('\n')}\n`;
}

const CAPTURES: Array<[string, string]> = [
  ['lsof', repeated(fixture('lsof/list-everything.txt'), 1, 300_000)],
  ['lsof with damaged rows', repeated(fixture('lsof/bad-truncated.txt'), 1, 200_000)],
  ['lsof -F', repeated(fixture('lsof-F/list-everything.txt'), 0, 300_000)],
  ['lsof -F0', fixture('lsof-F/F0-i.txt')],
  ['ss -tanp', repeated(fixture('ss/tanp.txt'), 1, 200_000)],
  ['netstat -anp', repeated(fixture('netstat/anp.txt'), 0, 200_000)],
  ['/proc/net/tcp', repeated(fixture('proc-net/tcp.txt'), 1, 200_000)],
];

describe('analyzeCapture', () => {
  for (const [name, text] of CAPTURES) {
    it(`reads ${name} the same whatever the size of the reads`, async () => {
      const whole = await analyze([Buffer.from(text, 'latin1')]);
      const r = rng(text.length);
      for (const max of [7, 300, 70_000, 1 << 20]) {
        expect(await analyze(cutUp(text, r, max)), `reads of up to ${max} bytes`).toEqual(whole);
      }
    });
  }
});
