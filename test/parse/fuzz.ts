/**
 * Property tests shared by the text parsers: a seeded random generator (no new packages), input
 * mutators built from real captures, and one check every parser must pass: strict mode throws
 * nothing but InputError, lenient mode never throws, whatever comes out is a valid model record,
 * and no input (5 MB on one line, pathological repeats) takes long.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { InputError } from '../../src/errors.js';
import { FdSchema } from '../../src/model/fd.js';
import { ProcessSchema } from '../../src/model/process.js';
import { SocketSchema } from '../../src/model/socket.js';
import type { Fd } from '../../src/model/fd.js';
import type { Process } from '../../src/model/process.js';
import type { Socket } from '../../src/model/socket.js';
import { LineSink } from '../../src/util/skips.js';

/** A fixture's text, by path under fixtures/. */
export function fixture(path: string): string {
  return readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
}

/** mulberry32: a small, fast, seeded PRNG; same seed, same sequence. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const int = (r: () => number, n: number): number => Math.floor(r() * n);

const ALPHABET = [
  ...' \t\n\r:.,;[]()<>-=*/@"\'\\%#', ...'0123456789abcdefABCDEFxyzTCPUDPLISTEN', '\0', '\x1b', '\x7f', '\u00ff', '\ufffd', '\u2028', '\ud800', '😀',
];

/** Random text biased towards the characters parsers split on. */
export function randomText(r: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += r() < 0.1 ? String.fromCharCode(int(r, 0x10000)) : pick(r, ALPHABET);
  return out;
}

/** A real capture, mutated: lines cut short, columns shuffled, tokens swapped for garbage, lines dropped. */
export function mutate(r: () => number, text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const roll = r();
    if (roll < 0.15) {
      out.push(line.slice(0, int(r, line.length + 1))); // truncated
    } else if (roll < 0.3) {
      const tokens = line.split(/(\s+)/).filter((t) => t.trim() !== '');
      for (let i = tokens.length - 1; i > 0; i--) {
        const j = int(r, i + 1);
        [tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!];
      }
      out.push(tokens.join(r() < 0.5 ? ' ' : '   ')); // shuffled columns
    } else if (roll < 0.4) {
      const tokens = line.split(' ');
      if (tokens.length > 0) tokens[int(r, tokens.length)] = randomText(r, 1 + int(r, 12));
      out.push(tokens.join(' ')); // one token garbled
    } else if (roll < 0.45) {
      // dropped line
    } else if (roll < 0.5) {
      out.push(line, line); // repeated line
    } else {
      out.push(line);
    }
  }
  return out.join('\n');
}

/** Big or adversarial inputs: each must parse (or be refused) quickly. */
export function hostileInputs(sample: string, megabytes = 5): Array<[string, string]> {
  const MB5 = megabytes * 1024 * 1024;
  const firstRow = sample.split('\n').find((l) => l.trim() !== '' && !/^[A-Z][a-z]/.test(l)) ?? 'x';
  const near = (unit: string): string => unit.repeat(Math.floor(60_000 / unit.length));
  return [
    ['5 MB on one line', 'a'.repeat(MB5)],
    ['5 MB of digits and spaces on one line', '1 '.repeat(MB5 / 2)],
    ['5 MB of newlines', '\n'.repeat(MB5)],
    ['5 MB of short lines', 'p1\nf3\n'.repeat(MB5 / 6)],
    ['a real row repeated to 5 MB', `${firstRow}\n`.repeat(Math.ceil(MB5 / (firstRow.length + 1)))],
    ['near-limit line of "users:(("', near('users:((')],
    ['near-limit line of parentheses', near('(')],
    ['near-limit line of colons', `tcp 0 0 ${near(':')}`],
    ['near-limit line of brackets', `unix 2 ${near('[ ')}`],
    ['near-limit line of hex', `0: ${near('0123456789ABCDEF')}`],
    ['near-limit line of " a ("', near(' a (1')],
    ['near-limit line of "->"', `x 1 root 3u IPv4 1 0t0 TCP ${near('1.1.1.1:1->')}`],
    ['near-limit line of \\x escapes', `${near('\\x20')} 1 root 3u REG 1,2 3 4 /x`],
    ['near-limit real row', firstRow + ' '.repeat(60_000 - firstRow.length) + 'x'],
  ];
}

export interface Parsed {
  sockets: Socket[];
  fds?: Fd[];
  processes?: Process[];
}

/** Whatever a parser returns must be valid model records pointing at lines of the input. */
export function expectValidRecords(parsed: Parsed, lineCount: number): void {
  // Plain checks, not expect() per record: hostile inputs yield tens of thousands of records.
  const fail = (what: string, record: unknown, why: string): never => {
    throw new Error(`invalid ${what} ${JSON.stringify(record).slice(0, 300)}: ${why}`);
  };
  for (const s of parsed.sockets) {
    const r = SocketSchema.safeParse(s);
    if (!r.success) fail('socket', s, r.error.message);
    if (s.origin.line < 1 || s.origin.line > lineCount) fail('socket', s, `origin line outside 1..${lineCount}`);
  }
  for (const f of parsed.fds ?? []) {
    const r = FdSchema.safeParse(f);
    if (!r.success) fail('fd', f, r.error.message);
    if (f.origin.line < 1 || f.origin.line > lineCount) fail('fd', f, `origin line outside 1..${lineCount}`);
  }
  for (const p of parsed.processes ?? []) {
    const r = ProcessSchema.safeParse(p);
    if (!r.success) fail('process', p, r.error.message);
  }
}

/**
 * Strict: a result or an InputError, nothing else. Lenient: never throws. Both: valid records.
 * Returns the time spent parsing (both passes, validation excluded), in ms.
 */
export function expectWellBehaved(parse: (text: string, sink: LineSink) => Parsed, text: string): number {
  const lines = text.split('\n').length;
  let started = performance.now();
  let strict: Parsed | undefined;
  try {
    strict = parse(text, new LineSink(true));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    // printable, one clean line (the source's own text never reaches the terminal raw)
    if (/[\u0000-\u001f\u007f]/.test(error.message)) throw new Error(`unprintable message: ${JSON.stringify(error.message)}`);
  }
  let ms = performance.now() - started;
  if (strict !== undefined) expectValidRecords(strict, lines);
  const sink = new LineSink(false);
  started = performance.now();
  const lenientOut = parse(text, sink);
  ms += performance.now() - started;
  expectValidRecords(lenientOut, lines);
  for (const s of sink.skipped) if (s.line < 1 || s.line > lines) throw new Error(`skipped line ${s.line} outside 1..${lines}`);
  return ms;
}

/** Runs `parse` on every hostile input under a time budget (parsing only); returns the slowest, in ms. */
export function expectFast(parse: (text: string, sink: LineSink) => Parsed, sample: string, budgetMs = 5000): number {
  // Bounded and linear, whatever the machine's load: each input of 5 MB is timed against the same
  // input at 1 MB, and may take at most 10x as long (linear work takes 5x; a quadratic path 25x,
  // a hang forever), or budgetMs on a machine fast enough for that. Inputs of one near-limit line
  // (60 KB whatever the size) are held to budgetMs alone.
  const small = new Map(hostileInputs(sample, 1));
  let slowest = 0;
  for (const [name, text] of hostileInputs(sample)) {
    const ms = expectWellBehaved(parse, text);
    slowest = Math.max(slowest, ms);
    const fifth = small.get(name)!;
    const bound = fifth.length < text.length ? Math.max(budgetMs, 10 * expectWellBehaved(parse, fifth)) : budgetMs;
    expect(ms, `${name} took ${Math.round(ms)} ms (bound ${Math.round(bound)} ms)`).toBeLessThan(bound);
  }
  return slowest;
}

/** Random and mutated inputs from a seed: the property part of each parser's test. */
export function fuzz(parse: (text: string, sink: LineSink) => Parsed, captures: string[], seed: number, rounds = 300): void {
  const r = rng(seed);
  for (let i = 0; i < rounds; i++) {
    const text = i % 3 === 0 ? randomText(r, int(r, 400)) : mutate(r, pick(r, captures));
    try {
      expectWellBehaved(parse, text);
    } catch (error) {
      throw new Error(`round ${i} (seed ${seed}) failed on ${JSON.stringify(text.slice(0, 300))}: ${String(error)}`);
    }
  }
}
