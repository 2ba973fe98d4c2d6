/**
 * LsofReader as `fdleak analyze` streams a capture (in pieces, socket fds kept, other fds only
 * counted) against the same reader on the whole text with every fd kept: a capture read in pieces,
 * cut anywhere an analysis may cut it, gives the same processes (fds by kind, targets held by several
 * fds), socket fds, deleted files' fds, socket rows, skipped lines and record count. Counted rows are read in place (character codes and
 * offsets); kept rows are read on into a file record: the two must agree, on real captures and on
 * mutated and random ones.
 * As `fdleak analyze` always did, lines around the tool's output (blank, "$ cmd", "# note") are
 * passed over: the reference is the whole parse of the text without them.
 */
import { describe, expect, it } from 'vitest';
import { isPreamble } from '../../../src/capture/detect-format.js';
import { LsofReader } from '../../../src/parse/lsof/reader.js';
import type { FdTable } from '../../../src/parse/lsof/reader.js';
import { stripCr } from '../../../src/parse/text.js';
import type { LsofRecords } from './read.js';
import { readColumns, readFields } from './read.js';
import type { Fd } from '../../../src/model/fd.js';
import type { Socket } from '../../../src/model/socket.js';
import { LineSink } from '../../../src/util/skips.js';
import type { SkippedLine } from '../../../src/util/skips.js';
import { expectFast, fixture, fuzz, mutate, pick, randomText, rng } from '../fuzz.js';

interface Outcome {
  processes: Array<{ pid: number; command: string; fdTableComplete: boolean; fdKinds: unknown; repeatedTargets?: unknown }>;
  fds: Fd[];
  sockets: Socket[];
  records: number;
  skipped: Array<Pick<SkippedLine, 'line' | 'reason' | 'text'>>;
}

type Whole = (text: string, source: string, sink: LineSink) => LsofRecords;
type Format = 'lsof' | 'lsof-F';

/** The reference: the whole parse of the lines an analysis reads, numbered as in the capture. */
function whole(parse: Whole, text: string): Outcome {
  const kept = text.split('\n').map((t, i) => ({ no: i + 1, t })).filter((l) => !isPreamble(stripCr(l.t)));
  const sink = new LineSink(false);
  const out = parse(kept.map((l) => l.t).join('\n'), 'x', sink);
  const no = (n: number): number => kept[n - 1]!.no;
  for (const r of [...out.fds, ...out.sockets]) r.origin.line = no(r.origin.line);
  return {
    processes: out.processes.map((p) => ({ pid: p.pid, command: p.command, fdTableComplete: p.fdTableComplete, fdKinds: p.fdKinds, repeatedTargets: p.repeatedTargets })),
    fds: out.fds.filter((f) => f.kind === 'socket' || f.deleted === true), // pieces keep socket fds and deleted files
    sockets: out.sockets,
    records: out.fds.length + out.sockets.length,
    skipped: sink.skipped.map((s) => ({ line: no(s.line), reason: s.reason, text: s.text })),
  };
}

/** The text read in pieces that start at the given line indexes (0-based, ascending). */
function pieces(format: Format, text: string, starts: number[]): Outcome {
  const lines = text.split('\n');
  const sink = new LineSink(false);
  const reader = new LsofReader(format, { source: 'x', sink });
  const out: Outcome = { processes: [], fds: [], sockets: [], records: 0, skipped: [] };
  const bounds = [...new Set([0, ...starts])].filter((s) => s < lines.length).sort((a, b) => a - b);
  bounds.forEach((start, i) => {
    const piece = reader.read(lines.slice(start, bounds[i + 1] ?? lines.length).join('\n'), start + 1);
    out.fds.push(...piece.fds);
    out.sockets.push(...piece.sockets);
    out.records += piece.records;
  });
  out.processes = reader.end().map((p) => ({ pid: p.pid, command: p.command, fdTableComplete: p.fdTableComplete, fdKinds: p.fdKinds, repeatedTargets: p.repeatedTargets }));
  out.skipped = sink.skipped.map((s) => ({ line: s.line, reason: s.reason, text: s.text }));
  return out;
}

/** Where an analysis may cut: anywhere in a column listing, before a "p" or "f" line in -F output. */
function cuts(text: string, fields: boolean, r: () => number, n: number): number[] {
  const lines = text.split('\n');
  const allowed = lines.map((l, i) => i).filter((i) => !fields || /^[pf]/.test(lines[i]!));
  return Array.from({ length: n }, () => (allowed.length === 0 ? 0 : pick(r, allowed)));
}

const COLUMNS = ['list-everything.txt', 'tcp-udp-queues.txt', 'sockets-files.txt', 'nonroot.txt', 'threads-K.txt', 'numeric-user-ppid-pgid.txt',
  'names-resolved.txt', 'truncated-fd-numbers.txt', 'ipv6-v4mapped.txt', 'wide-command.txt', 'no-protocol-X.txt', 'close-wait-filter.txt',
  'bad-garbage.txt', 'bad-truncated.txt'].map((n) => fixture(`lsof/${n}`))
  .concat(['lsof.txt', 'lsof-L1.txt'].map((n) => fixture(`rules/deleted-files/fires-lsof/${n}`))); // deleted files, +L1's NLINK, repeated targets
const FIELDS = ['list-everything.txt', 'pcfnPtT-i.txt', 'many-fields.txt', 'n-only.txt', 'nonroot.txt', 'threads.txt', 'truncated-fd-numbers.txt',
  'bad-garbage.txt', 'bad-unknown-tag.txt'].map((n) => fixture(`lsof-F/${n}`)).concat(fixture('lsof-F/F0-i.txt').replace(/\0\n?/g, '\n'))
  .concat(fixture('rules/deleted-files/fires-lsof/lsof-F.txt'));

function same(parseWhole: Whole, format: Format, fields: boolean, text: string, r: () => number): void {
  const reference = whole(parseWhole, text);
  for (const n of [0, 1, 3, 12]) expect(pieces(format, text, cuts(text, fields, r, n))).toEqual(reference);
}

describe('LsofReader: the column listing in pieces reads as it does whole', () => {
  it('on every real capture, cut anywhere', () => {
    const r = rng(0x9e1);
    for (const text of COLUMNS) same(readColumns, 'lsof', false, text, r);
  });

  it('on a capture repeated (every row again, as thread rows and second inputs repeat fds)', () => {
    const r = rng(0x9e2);
    const [header, ...rows] = fixture('lsof/list-everything.txt').split('\n');
    same(readColumns, 'lsof', false, [header, ...rows, ...rows, ...rows].join('\n'), r);
  });

  it('on mutated and random captures, with blank, "$" and "#" lines about', () => {
    const r = rng(0x9e3);
    for (let i = 0; i < 400; i++) {
      let text = i % 5 === 0 ? randomText(r, Math.floor(r() * 600)) : mutate(r, pick(r, COLUMNS));
      if (i % 3 === 0) text = text.split('\n').map((l) => (r() < 0.05 ? pick(r, ['', '  ', '# note', '$ lsof -n', ' \tlsof: x']) : l)).join('\n');
      try {
        same(readColumns, 'lsof', false, text, r);
      } catch (error) {
        throw new Error(`case ${i} failed on ${JSON.stringify(text.slice(0, 400))}: ${String(error)}`);
      }
    }
  });

  it('keeps deleted files (with and without +L1\'s NLINK column) and tallies repeated targets as whole', () => {
    const r = rng(0x9e7);
    for (const name of ['lsof.txt', 'lsof-L1.txt']) {
      const text = fixture(`rules/deleted-files/fires-lsof/${name}`);
      const reference = whole(readColumns, text);
      expect(reference.fds.filter((f) => f.deleted === true).length).toBeGreaterThan(0);
      expect(reference.fds.every((f) => f.kind === 'socket' || typeof f.size === 'number')).toBe(true);
      if (name === 'lsof.txt') expect(reference.processes.flatMap((p) => p.repeatedTargets as unknown[]).length).toBeGreaterThan(0);
      same(readColumns, 'lsof', false, text, r);
    }
  });

  it('restores fd numbers past 9999 across pieces', () => {
    const text = fixture('lsof/truncated-fd-numbers.txt');
    const lines = text.split('\n');
    const out = pieces('lsof', text, lines.map((_, i) => i)); // a piece per line
    expect(out.fds.map((f) => f.fd)).toEqual([9997, 9998, 9999, 10000, 10001, 10002, 10998, 10999, 11000, 11001]);
  });

  it('counts an fd that a second input lists again once, and still gives that input\'s socket rows', () => {
    const text = fixture('lsof/tcp-udp-queues.txt');
    const listed = new Map<number, FdTable>();
    const [a, b] = [0, 1].map((input) => new LsofReader('lsof', { source: 'ab'[input]!, sink: new LineSink(false), listed, input }));
    const first = a!.read(text);
    const second = b!.read(text);
    expect(second.sockets).toHaveLength(first.sockets.length);
    expect(second.fds).toEqual([]); // the first input's socket fds stand
    const kinds = (c: LsofReader): number => c.end().reduce((n, p) => n + Object.values(p.fdKinds).reduce((x, y) => x + y, 0), 0);
    expect(kinds(b!)).toBe(0);
    expect(kinds(a!)).toBe(readColumns(text, 'a').fds.length);
  });

  it('throws only InputError (strict), never throws (lenient), returns valid records; never hangs', () => {
    const r = rng(0x9e4);
    const run = (text: string, sink: LineSink) => {
      const lines = text.split('\n');
      const reader = new LsofReader('lsof', { source: 'fuzz', sink });
      const out = { processes: [] as never[], fds: [] as Fd[], sockets: [] as Socket[] };
      const bounds = [...new Set([0, ...cuts(text, false, r, 4)])].sort((x, y) => x - y);
      bounds.forEach((start, i) => {
        const piece = reader.read(lines.slice(start, bounds[i + 1] ?? lines.length).join('\n'), start + 1);
        out.fds.push(...piece.fds);
        out.sockets.push(...piece.sockets);
      });
      return out;
    };
    fuzz(run, COLUMNS, 0x15f1);
    expectFast(run, COLUMNS[0]!);
  }, 120_000); // 14 inputs of 5 MB: the bound is per input (fuzz.ts expectFast)
});

describe('LsofReader: lsof -F output in pieces reads as it does whole', () => {
  it('on every real capture, cut before any "p" or "f" line', () => {
    const r = rng(0x9e5);
    for (const text of FIELDS) same(readFields, 'lsof-F', true, text, r);
  });

  it('keeps deleted files ("s" as their size) and tallies repeated targets as whole', () => {
    const text = fixture('rules/deleted-files/fires-lsof/lsof-F.txt');
    const reference = whole(readFields, text);
    expect(reference.fds.filter((f) => f.deleted === true && typeof f.size === 'number').length).toBeGreaterThan(0);
    expect(reference.processes.flatMap((p) => p.repeatedTargets as unknown[]).length).toBeGreaterThan(0);
    same(readFields, 'lsof-F', true, text, rng(0x9e8));
  });

  it('on mutated and random captures', () => {
    const r = rng(0x9e6);
    for (let i = 0; i < 300; i++) {
      const text = i % 5 === 0 ? randomText(r, Math.floor(r() * 600)) : mutate(r, pick(r, FIELDS));
      try {
        same(readFields, 'lsof-F', true, text, r);
      } catch (error) {
        throw new Error(`case ${i} failed on ${JSON.stringify(text.slice(0, 400))}: ${String(error)}`);
      }
    }
  });
});
