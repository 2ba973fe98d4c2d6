/**
 * openLines: whatever sizes the reads come in, the chunks hold exactly the input's lines, numbered
 * from 1, CRLF read as LF, lines over MAX_LINE cut out and reported, NUL bytes refused at their line.
 * The reference is the plain definition on the whole text (split at "\n").
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { linesOf, openLines } from '../../src/capture/text-input.js';
import { MAX_LINE } from '../../src/parse/text.js';
import type { Line } from '../../src/capture/text-input.js';
import { pick, rng } from '../parse/fuzz.js';

interface Read {
  lines: Line[];
  overlong: Line[];
  total: number;
  head: Line[];
}

/** The definition: lines of the whole text; over-long ones reported with their first 200 characters. */
function reference(text: string): Read | string {
  const parts = text.split('\n');
  const last = parts.pop()!;
  const lines: Line[] = [];
  const overlong: Line[] = [];
  const all = last === '' ? parts.map((t) => [t, true] as const) : [...parts.map((t) => [t, true] as const), [last, false] as const];
  for (const [i, [t, ended]] of all.entries()) {
    const no = i + 1;
    if (t.length > MAX_LINE) overlong.push({ no, text: t.slice(0, 200) });
    else if (t.includes('\0')) return `binary data (NUL bytes): expected text at ${no}`;
    else lines.push({ no, text: ended && t.endsWith('\r') ? t.slice(0, -1) : t });
  }
  return { lines, overlong, total: all.length, head: lines.slice(0, 50) };
}

/** The text read through openLines, the stream giving `sizes` bytes at a time. */
async function read(text: string, sizes: () => number, strings = false): Promise<Read | string> {
  const bytes = Buffer.from(text, 'latin1');
  const reads: Array<Buffer | string> = [];
  for (let at = 0; at < bytes.length;) {
    const n = Math.max(1, sizes());
    reads.push(strings ? bytes.toString('latin1', at, at + n) : bytes.subarray(at, at + n));
    at += n;
  }
  try {
    const stream = await openLines('-', Readable.from(reads, { objectMode: true }));
    const lines: Line[] = [];
    for await (const chunks of stream.chunks()) for (const chunk of chunks) lines.push(...linesOf(chunk));
    return { lines, overlong: stream.overlong, total: stream.lines, head: stream.head };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return `${error.what} at ${error.where.line}`;
  }
}

/** Text of lsof-like rows, with CRLF, blank, long (past the chunk size) and over-long lines. */
function sample(r: () => number): string {
  const out: string[] = [];
  const n = Math.floor(r() * 400);
  for (let i = 0; i < n; i++) {
    const roll = r();
    if (roll < 0.02) out.push('x'.repeat(MAX_LINE - 5 + Math.floor(r() * 10))); // about the limit
    else if (roll < 0.03) out.push('y'.repeat(50_000 + Math.floor(r() * 10_000))); // longer than a chunk
    else if (roll < 0.04) out.push('z'.repeat(70_000 + Math.floor(r() * 200_000))); // over the limit
    else if (roll < 0.1) out.push('');
    else out.push(`proc ${i} root ${i}u REG 8,1 0 ${i} /var/log/f${'-'.repeat(Math.floor(r() * 120))}${r() < 0.2 ? '\r' : ''}`);
  }
  return out.join('\n') + pick(r, ['\n', '', '\r\n', '\n\n']);
}

describe('openLines', () => {
  it('gives the same lines, numbers and over-long lines for any read sizes', async () => {
    const r = rng(0x7e47);
    for (let i = 0; i < 60; i++) {
      const text = sample(r);
      if (text.trim() === '') continue;
      const expected = reference(text);
      const tiny = text.length < 50_000 ? [() => 1 + Math.floor(r() * 7)] : []; // many reads: small inputs only
      const sizes = pick(r, [...tiny, () => 1 + Math.floor(r() * 5000), () => 1 + Math.floor(r() * 300_000), () => 1 << 20]);
      expect(await read(text, sizes), `case ${i}`).toEqual(expected);
      expect(await read(text, sizes, true), `case ${i}, string reads`).toEqual(expected);
    }
  });

  it('refuses NUL bytes at their line, wherever a read ends', async () => {
    const r = rng(0x7e48);
    for (let i = 0; i < 20; i++) {
      const lines = Array.from({ length: 200 }, (_, k) => `proc ${k} root ${k}u REG 8,1 0 ${k} /x`);
      lines[50 + Math.floor(r() * 140)] += '\0';
      const text = lines.join('\n');
      const got = await read(text, () => 1 + Math.floor(r() * 3000));
      expect(got).toBe(reference(text));
      expect(got).toMatch(/^binary data \(NUL bytes\): expected text at \d+$/);
    }
  });

  it('reads lsof -F0 (NUL-ended fields) as one field per line', async () => {
    const text = 'p12\0cbash\0\nf3\0tREG\0n/tmp/x\0\nf4\0tFIFO\0npipe\0\n';
    const got = await read(text, () => 1 << 20);
    expect(typeof got === 'string' ? got : got.lines.map((l) => l.text)).toEqual(['p12', 'cbash', 'f3', 'tREG', 'n/tmp/x', 'f4', 'tFIFO', 'npipe']);
  });

  it('refuses an empty input', async () => {
    expect(await read('', () => 10)).toBe('empty input: expected lsof, ss, netstat or /proc/net text at undefined');
  });
});
