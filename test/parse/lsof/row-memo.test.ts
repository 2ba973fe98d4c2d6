/**
 * RowMemo (rows of a capture that repeats itself, met again) and the column reader using it: a
 * capture repeated whole reads as it reads once (same processes, fd kinds, threads, socket fds),
 * and the rows met again are done again in blocks, not read.
 */
import { describe, expect, it, vi } from 'vitest';
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

/** replayRows from line i of `t`, every row done again but `refuse`: the rows it did, how many, where it stopped. */
const replayFrom = (m: RowMemo, t: string, ls: number, refuse = -1) => {
  const done: number[] = [];
  const n = m.replayRows(t, ls, t.length, (k) => k !== refuse && done.push(k) > 0);
  return { done, n, after: m.after };
};

describe('RowMemo', () => {
  it('keeps the rows of a run met before and does them again in the order kept, from the expected one on', () => {
    const m = new RowMemo();
    ROWS.forEach((_, i) => m.keep(text, ...at(i), 1, null, 3 + i, i === 2));
    expect(replayFrom(m, text, 0).n).toBe(0); // expected next: the row after the last one kept
    m.keep(text, ...at(0), 1, null, 3, false); // met again: found by its fd and text
    expect(replayFrom(m, text, at(1)[0])).toEqual({ done: [1, 2], n: 2, after: text.length + 1 });
    expect([m.pids[2], m.fds[2], m.tids[2], m.sockets[2]]).toEqual([1, 5, -1, true]);
    const other = ROWS[2]!.replace('5u', '6u'); // as long, another fd
    m.keep(text, ...at(0), 1, null, 3, false);
    expect(replayFrom(m, `${ROWS[1]}\n${other}`, 0)).toMatchObject({ done: [1], n: 1, after: ROWS[1]!.length + 1 });
  });

  it('stops before a row that cannot be done again, and at a line that is not the row expected', () => {
    const m = new RowMemo();
    ROWS.forEach((_, i) => m.keep(text, ...at(i), 1, null, 3 + i, false));
    m.keep(text, ...at(0), 1, null, 3, false);
    expect(replayFrom(m, text, at(1)[0], 2)).toEqual({ done: [1], n: 1, after: at(2)[0] });
    expect(replayFrom(m, text, at(2)[0], 2).n).toBe(0);
    // CRLF: the expected row alone
    m.keep(text, ...at(0), 1, null, 3, false);
    const crlf = `${ROWS[1]}\r\n${ROWS[2]}\r\n`;
    expect(replayFrom(m, crlf, 0)).toMatchObject({ done: [1], n: 1, after: ROWS[1]!.length + 2 });
    expect(replayFrom(m, crlf, ROWS[1]!.length + 2)).toMatchObject({ done: [2], n: 1 });
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
    expect(replayFrom(m, text, at(1)[0]).n).toBe(0);
    expect(m.pids).toEqual([1]);
  });

  it('keeps rows with no fd number (cwd, mem) before the first kept row of their run, forgets them at another run', () => {
    const named = ['a  1  root  cwd  DIR 0,1 0 2 /', 'a  1  root  mem  REG 0,1 0 9 /lib.so'];
    const t = [...named, ...ROWS].join('\n');
    const ls = (i: number) => [...named, ...ROWS].slice(0, i).reduce((n, r) => n + r.length + 1, 0);
    const m = new RowMemo();
    m.named(t, ls(0), ls(1) - 1, 1, null);
    m.named(t, ls(1), ls(2) - 1, 1, null);
    m.named(t, ls(0), ls(1) - 1, 7, null); // another process: pid 1's are forgotten
    m.keep(t, ls(2), ls(3) - 1, 1, null, 3, false);
    expect(m.fds).toEqual([3]);
    m.named(t, ls(0), ls(1) - 1, 1, null);
    m.named(t, ls(1), ls(2) - 1, 1, null);
    m.keep(t, ls(2), ls(3) - 1, 1, null, 3, false); // kept already: the named rows go before it
    expect(m.fds).toEqual([3, -1, -1]);
    m.keep(t, ls(3), ls(4) - 1, 1, null, 4, false);
    m.named(t, ls(0), ls(1) - 1, 1, null);
    m.named(t, ls(1), ls(2) - 1, 1, null);
    m.keep(t, ls(2), ls(3) - 1, 1, null, 3, false); // all three kept already: nothing new, row 3's the place
    expect(m.fds).toEqual([3, -1, -1, 4]);
    // expected next: the cwd row (kept after fd 3's), then mem's, then fd 4's, which is not the line after mem's
    expect(replayFrom(m, t, ls(0))).toEqual({ done: [1, 2], n: 2, after: ls(2) });
  });
});

describe('ColumnsReader with a capture that repeats whole', () => {
  const repeated = (capture: string, times: number): string[] => {
    const [header, ...rows] = capture.split('\n');
    return [header!, ...Array.from({ length: times }, () => rows).flat()];
  };
  const readLines = (lines: string[], pieceLines: number, eol = '\n') => {
    const reader = new LsofReader('lsof', { source: 'x', sink: new LineSink(false) });
    const fds = [];
    for (let s = 0; s < lines.length; s += pieceLines) fds.push(...reader.read(lines.slice(s, s + pieceLines).join(eol), s + 1).fds);
    return { processes: reader.end(), fds: fds.map((f) => ({ ...f, origin: null })) };
  };
  const read = (capture: string, times: number, pieceLines: number, eol = '\n') => readLines(repeated(capture, times), pieceLines, eol);
  /** Lines the memo did again (replayRows), and in how many calls, while `run` runs. */
  const replayed = (run: () => void): { lines: number; calls: number } => {
    const spy = vi.spyOn(RowMemo.prototype, 'replayRows');
    let counts: number[];
    try {
      run();
      counts = spy.mock.results.map((r) => r.value as number).filter((n) => n > 0);
    } finally {
      spy.mockRestore();
    }
    return { lines: counts.reduce((a, b) => a + b, 0), calls: counts.length };
  };

  for (const name of ['list-everything.txt', 'threads-K.txt', 'sockets-files.txt', 'truncated-fd-numbers.txt', 'numeric-user-ppid-pgid.txt']) {
    it(`reads ${name} repeated 6 times (whole, in pieces of 7 lines, of 1 line, with CRLF) as it reads it once`, () => {
      const capture = fixture(`lsof/${name}`);
      const once = read(capture, 1, 1e9);
      expect(once.processes.length).toBeGreaterThan(0);
      expect(read(capture, 6, 1e9)).toEqual(once);
      expect(read(capture, 6, 7)).toEqual(once);
      expect(read(capture, 6, 1)).toEqual(once);
      expect(read(capture, 6, 1e9, '\r\n')).toEqual(once);
    });
  }

  it('does the rows of the copies after the second again in blocks: list-everything.txt, nearly every line of copies 3-6, hundreds of lines a call', () => {
    const capture = fixture('lsof/list-everything.txt');
    const rows = capture.split('\n').length - 1;
    let six: ReturnType<typeof read> | undefined;
    const { lines, calls } = replayed(() => { six = read(capture, 6, 1e9); });
    expect(six).toEqual(read(capture, 1, 1e9));
    // copies 1 and 2 are read (the second is kept), 3 to 6 done again but a row here and there
    // (one that keeps no fd: NOFD, the cwd/txt of a process with no fd after them)
    expect(lines).toBeGreaterThan(0.95 * 4 * rows);
    expect(lines).toBeLessThanOrEqual(4 * rows);
    expect(lines / calls).toBeGreaterThan(100);
  });

  it('holds its rows over a capture pasted with its header and lsof\'s warnings each time (cat lsof.txt lsof.txt): nonroot.txt', () => {
    const capture = fixture('lsof/nonroot.txt').replace(/\n$/, '');
    const whole = (n: number) => Array.from({ length: n }, () => capture).join('\n').split('\n');
    const once = readLines(whole(1), 1e9);
    let four: ReturnType<typeof readLines> | undefined;
    const { lines } = replayed(() => { four = readLines(whole(4), 1e9); });
    expect(four).toEqual(once);
    expect(lines).toBeGreaterThan(0);
    // a header that reads otherwise (another column layout) forgets them: nothing is done again after it
    const other = fixture('lsof/numeric-user-ppid-pgid.txt').replace(/\n$/, '').split('\n');
    const mixed = [...whole(3), ...other, ...whole(1).slice(2)];
    const three = replayed(() => readLines(whole(3), 1e9)).lines;
    expect(three).toBeGreaterThan(0);
    expect(replayed(() => readLines(mixed, 1e9)).lines).toBe(three);
  });

  it('reads a row that differs from the one met there before (another fd, as long) as what it is', () => {
    const [header, ...rows] = fixture('lsof/list-everything.txt').split('\n');
    // copies 3 and 4: every one-digit fd one more (the same length): rows the memo expects, but not these
    const shifted = rows.map((r) => r.replace(/(\s)(\d)([rwu]\s)/, (_, a: string, d: string, c: string) => `${a}${(Number(d) + 1) % 10}${c}`));
    expect(shifted.filter((r, i) => r !== rows[i]).length).toBeGreaterThan(50);
    // copy 6: one row in the middle of a block changed
    const middle = shifted.findIndex((r, i) => i >= rows.length >> 1 && r !== rows[i]);
    const one = rows.map((r, i) => (i === middle ? shifted[i]! : r));
    expect(one.filter((r, i) => r !== rows[i]).length).toBe(1);
    const lines = [header!, ...rows, ...rows, ...shifted, ...shifted, ...rows, ...one, ...rows];
    const kinds = (ps: Array<{ pid: number; fdKinds: unknown; threads: number | null }>) => ps.map((p) => [p.pid, p.fdKinds, p.threads]);
    const reference = readColumns(lines.join('\n'), 'x'); // every fd kept: no row skipped as a repeat
    expect(kinds(readLines(lines, 1e9).processes)).toEqual(kinds(reference.processes));
    expect(kinds(readLines(lines, 13).processes)).toEqual(kinds(reference.processes));
  });
});
