/**
 * Reads captured text (a file or stdin) as numbered lines, in batches, with bounded memory:
 * - lines longer than MAX_LINE are cut off and reported, never buffered whole (a line of megabytes);
 * - lsof -F0 output (fields ended by NUL, sets by NUL+newline) is turned into one field per line;
 * - NUL bytes anywhere else, or mostly non-text bytes, mean binary data: an InputError at that line;
 * - an empty input is an InputError.
 */
import { createReadStream } from 'node:fs';
import { InputError } from '../errors.js';

export const MAX_LINE = 64 * 1024;
const BATCH = 20_000;

export interface Line {
  no: number;
  text: string;
}

export interface LineStream {
  source: string;
  /** The first lines, for format detection. */
  head: Line[];
  /** Batches of lines, head first; each batch at most BATCH lines. */
  batches(): AsyncGenerator<Line[]>;
  /** Lines seen so far (all lines once batches() is drained). */
  readonly lines: number;
  /** Lines cut because they were longer than MAX_LINE. */
  readonly overlong: Line[];
}

/** Opens a file, or stdin for "-". */
export async function openLines(path: string, stdin: NodeJS.ReadableStream, headLines = 50): Promise<LineStream> {
  const source = path === '-' ? 'stdin' : path;
  const stream = path === '-' ? stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  const iterator = splitLines(stream, source);
  const head: Line[] = [];
  const state = { lines: 0, overlong: [] as Line[] };
  // Prefetch the head for detection; the rest streams.
  let first = await iterator.next();
  while (!first.done) {
    head.push(...first.value);
    if (head.length >= headLines) break;
    first = await iterator.next();
  }
  const prefetched = head.slice();
  const headDone = first.done === true;
  return {
    source,
    head: head.slice(0, headLines),
    get lines() { return state.lines; },
    get overlong() { return iterator.overlong; },
    async *batches() {
      let batch: Line[] = [];
      const push = function* (lines: Line[]): Generator<Line[]> {
        for (const l of lines) {
          state.lines = l.no;
          batch.push(l);
          if (batch.length >= BATCH) { yield batch; batch = []; }
        }
      };
      yield* push(prefetched);
      if (!headDone) {
        for (;;) {
          const next = await iterator.next();
          if (next.done) break;
          yield* push(next.value);
        }
      }
      if (batch.length > 0) yield batch;
    },
  };
}

type LineIterator = AsyncGenerator<Line[], void> & { overlong: Line[] };

/** Splits a byte stream into lines (latin1, so any byte survives one-to-one), chunk by chunk. */
function splitLines(stream: NodeJS.ReadableStream, source: string): LineIterator {
  const overlong: Line[] = [];
  async function* run(): AsyncGenerator<Line[], void> {
    let carry = '';
    let carryDropped = false; // the current line is over MAX_LINE: skip to its end
    let no = 0;
    let bytes = 0;
    let f0: boolean | undefined; // lsof -F0: NUL separates fields
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      let text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
      if (bytes === 0 && text.length > 0) checkText(text, source);
      bytes += text.length;
      if (f0 === undefined && text.length > 0) f0 = /^p\d+\0/.test(text);
      if (f0) text = text.replace(/\0\n?/g, '\n');
      const out: Line[] = [];
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        no++;
        if (carryDropped) {
          overlong.push({ no, text: carry });
          carryDropped = false;
        } else {
          const line = carry + text.slice(start, nl);
          if (line.length > MAX_LINE) overlong.push({ no, text: line.slice(0, 200) });
          else {
            if (!f0 && line.includes('\0')) throw new InputError('binary data (NUL bytes): expected text', { source, line: no });
            out.push({ no, text: line.endsWith('\r') ? line.slice(0, -1) : line });
          }
        }
        carry = '';
        start = nl + 1;
      }
      if (!carryDropped) {
        carry += text.slice(start);
        if (carry.length > MAX_LINE) { carry = carry.slice(0, 200); carryDropped = true; }
      }
      if (out.length > 0) yield out;
    }
    if (bytes === 0) throw new InputError('empty input: expected lsof, ss, netstat or /proc/net text', { source });
    if (carry !== '' || carryDropped) {
      no++;
      if (carryDropped) overlong.push({ no, text: carry });
      else if (!f0 && carry.includes('\0')) throw new InputError('binary data (NUL bytes): expected text', { source, line: no });
      else yield [{ no, text: carry }];
    }
  }
  return Object.assign(run(), { overlong });
}

/** Rejects data that is clearly not text: too many control bytes in the first chunk. */
function checkText(text: string, source: string): void {
  const sample = text.slice(0, 4096);
  if (/^p\d+\0/.test(sample)) return; // lsof -F0
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0) throw new InputError('binary data (NUL bytes): expected text', { source, line: lineOf(sample, i) });
    if ((c < 9 || (c > 13 && c < 32)) && c !== 27) control++;
  }
  if (control > sample.length / 20) throw new InputError('binary data: expected text', { source, line: 1 });
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}
