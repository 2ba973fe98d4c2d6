/**
 * RowMemo (rows of a capture that repeats itself, met again) and the column reader using it: a
 * capture repeated whole reads as it reads once (same processes, fd kinds, threads, socket fds).
 */
import { describe, expect, it } from 'vitest';
import { LsofReader } from '../../../src/parse/lsof/reader.js';
import { readColumns } from './read.js';
import { RowMemo } from '../../../src/parse/lsof/row-memo.js';
import { LineSink } from '../../../src/util/skips.js';
import { fixture } from '../fuzz.js';

const ROWS = ['a  1  root  3u  REG 0,1 0 5 /x', 'a  1  root  4u  REG 0,1 0 6 /y', 'a  1  root  5u  IPv4 7 0t0 TCP *:1 (LISTEN)'];
const text = ROWS.join('\n');
const at = (i: number): [number, number] => {
  const ls = ROWS.slice(0, i).reduce((n, r) => n + r.length + 1, 0);
  return [ls, ls + ROWS[i]!.length];
};

describe('RowMemo', () => {
  it('keeps the rows of a run met before and expects them again in order', () => {
    const m = new RowMemo();
    ROWS.forEach((_, i) => m.keep(text, ...at(i), 1, null, 3 + i, i === 2));
    expect(m.expected(text, ...at(0))).toBe(-1); // expected next: the row after the last one kept
    m.keep(text, ...at(0), 1, null, 3, false); // met again: found by its text
    expect(m.expected(text, ...at(1))).toBe(1);
    m.met(1);
    expect(m.expected(text, ...at(0))).toBe(-1);
    const other = ROWS[2]!.replace('5u', '6u'); // as long, another fd
    expect(m.expected(`${other}\n`, 0, other.length)).toBe(-1);
    const k = m.expected(text, ...at(2));
    expect([k, m.pids[k], m.fds[k], m.tids[k], m.sockets[k]]).toEqual([2, 1, 5, -1, true]);
  });

  it('keeps nothing of a thread\'s run met for the first time (its rows repeat its process\'s fds), its rows when met again; forgets all on clear()', () => {
    const m = new RowMemo();
    ROWS.forEach((_, i) => m.keep(text, ...at(i), 1, 2, 3 + i, false));
    m.keep(text, ...at(0), 1, null, 3, false);
    expect(m.pids).toEqual([1]);
    m.keep(text, ...at(1), 1, 2, 4, false); // thread 2's run again
    expect([m.pids, m.tids]).toEqual([[1, 1], [-1, 2]]);
    m.clear();
    m.keep(text, ...at(0), 1, null, 3, false);
    m.keep(text, ...at(0), 1, null, 3, false);
    expect(m.expected(text, ...at(1))).toBe(-1);
    expect(m.pids).toEqual([1]);
  });
});

describe('ColumnsReader with a capture that repeats whole', () => {
  const read = (capture: string, times: number, pieceLines: number) => {
    const [header, ...rows] = capture.split('\n');
    const lines = [header!, ...Array.from({ length: times }, () => rows).flat()];
    return readLines(lines, pieceLines);
  };
  const readLines = (lines: string[], pieceLines: number) => {
    const reader = new LsofReader('lsof', { source: 'x', sink: new LineSink(false) });
    const fds = [];
    for (let s = 0; s < lines.length; s += pieceLines) fds.push(...reader.read(lines.slice(s, s + pieceLines).join('\n'), s + 1).fds);
    return { processes: reader.end(), fds: fds.map((f) => ({ ...f, origin: null })) };
  };

  for (const name of ['list-everything.txt', 'threads-K.txt', 'sockets-files.txt', 'truncated-fd-numbers.txt']) {
    it(`reads ${name} repeated 4 times (whole, and in pieces of 7 lines) as it reads it once`, () => {
      const capture = fixture(`lsof/${name}`);
      const once = read(capture, 1, 1e9);
      expect(once.processes.length).toBeGreaterThan(0);
      expect(read(capture, 4, 1e9)).toEqual(once);
      expect(read(capture, 4, 7)).toEqual(once);
    });
  }

  it('reads a row that differs from the one met there before (another fd, as long) as what it is', () => {
    const [header, ...rows] = fixture('lsof/list-everything.txt').split('\n');
    // copies 3 and 4: every one-digit fd one more (the same length): rows the memo expects, but not these
    const shifted = rows.map((r) => r.replace(/(\s)(\d)([rwu]\s)/, (_, a: string, d: string, c: string) => `${a}${(Number(d) + 1) % 10}${c}`));
    expect(shifted.filter((r, i) => r !== rows[i]).length).toBeGreaterThan(50);
    const lines = [header!, ...rows, ...rows, ...shifted, ...shifted];
    const kinds = (ps: Array<{ pid: number; fdKinds: unknown; threads: number | null }>) => ps.map((p) => [p.pid, p.fdKinds, p.threads]);
    const reference = readColumns(lines.join('\n'), 'x'); // every fd kept: no row skipped as a repeat
    expect(kinds(readLines(lines, 1e9).processes)).toEqual(kinds(reference.processes));
    expect(kinds(readLines(lines, 13).processes)).toEqual(kinds(reference.processes));
  });
});
