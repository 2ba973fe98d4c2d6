/**
 * A large lsof file read by two threads (capture/tail.ts): the report must be the one a single
 * thread makes, byte for byte (JSON and table), on real captures: the fixtures, split at a
 * process's first row and at line starts in the middle of processes, and a big capture made by the
 * bench's own generator (bench/replicate.mjs) from a fixture. Where the worker's reading is taken
 * in, the test checks that it was (joined, and the lines and socket rows it read): a fallback to
 * one thread gives the same answer and must not pass for it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import type { CaptureResult } from '../../src/capture/capture.js';
import { Tail } from '../../src/capture/tail.js';
import type { TailOptions } from '../../src/capture/tail.js';
import { openLines } from '../../src/capture/text-input.js';
import { analyzeJson } from '../../src/report/analyze/json.js';
import { judgedScope } from '../../src/report/analyze/judged.js';
import { analyzeTable } from '../../src/report/analyze/table.js';
import { runRules } from '../../src/rules/engine.js';
import { hasLsof, lsofOfSocketMix, stopAll } from '../helpers/netns.js';

const TAKEN_AT = '2026-12-03T00:00:00.000Z';
/** The worker as the CLI starts it (the bundle entry: npm test builds first). */
const WORKER = new URL('../../dist/cli/analyze-worker.cjs', import.meta.url);

interface Run { json: string; table: string; capture: CaptureResult }

async function analyze(path: string, split: TailOptions, foldAfter?: number): Promise<Run> {
  // a small file read 1 KiB at a time: its first lines are read before the split, not all of it
  const stream = await openLines(path, Readable.from([]), 50, statSync(path).size < 1 << 20 ? 1024 : undefined);
  let capture: CaptureResult;
  try {
    capture = await analyzeCapture([stream], undefined, TAKEN_AT, {}, { split: { worker: WORKER, ...split }, ...(foldAfter === undefined ? {} : { foldAfter }) });
  } finally {
    stream.close();
  }
  const { findings, skipped, ran } = runRules(capture.snapshot);
  const judged = judgedScope(capture.snapshot, ran, skipped);
  return {
    json: analyzeJson(capture, findings, skipped, judged),
    table: analyzeTable(capture, findings, skipped, judged, { color: false, version: 'test', generatedAt: TAKEN_AT }),
    capture,
  };
}

/** Both readings of `path`: one thread, and two as `split` says; the reports compared whole. */
async function both(path: string, split: TailOptions, foldAfter?: number): Promise<Run> {
  const one = await analyze(path, { threads: 1 }, foldAfter);
  const two = await analyze(path, { threads: 2, ...split }, foldAfter);
  expect(one.capture.splits).toEqual([]);
  expect(two.json).toBe(one.json);
  expect(two.table).toBe(one.table);
  return two;
}

/** The lsof column listings among the fixtures. */
const FIXTURES = ['fixtures/lsof', 'fixtures/lsof-sock'].flatMap((dir) =>
  readdirSync(dir).filter((f) => f.endsWith('.txt') && !f.startsWith('bad-') && !f.includes('-F') && statSync(join(dir, f)).size > 1000).map((f) => join(dir, f)));

/** Byte offsets of the rows of `path` whose PID is the row's before it (`same`) or not: where a process's rows start. */
function rowStarts(path: string, same: boolean): number[] {
  const text = readFileSync(path, 'latin1');
  const out: number[] = [];
  let prev = '';
  let at = 0;
  for (const line of text.split('\n')) {
    const pid = /^\S+\s+(\d+)\s/.exec(line)?.[1] ?? '';
    if (pid !== '' && prev !== '' && (pid === prev) === same) out.push(at);
    prev = pid;
    at += line.length + 1;
  }
  return out;
}

/** At most `n` of `list`, evenly apart. */
const some = <T>(list: T[], n: number): T[] => (list.length <= n ? list : Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]!));

describe('two threads read a fixture as one does (folded from the first row, split anywhere)', () => {
  it('at the first process boundary after the middle', async () => {
    let joined = 0;
    for (const path of FIXTURES) {
      const two = await both(path, { minBytes: 0 }, 0);
      if (two.capture.splits[0]?.joined === true) joined++;
    }
    expect(joined).toBeGreaterThanOrEqual(3);
  });

  it("at a process's first row, all along the file: the worker's reading taken in", async () => {
    let joined = 0;
    for (const path of FIXTURES) {
      const text = readFileSync(path, 'latin1');
      for (const at of some(rowStarts(path, false), 12)) {
        const two = await both(path, { minBytes: 0, at }, 0);
        const [split] = two.capture.splits;
        if (split === undefined) continue; // before the first lines read (the head)
        expect(split).toMatchObject({ boundary: at, joined: true });
        // the worker read every line after the boundary
        expect(split.workerLines).toBe(two.capture.inputs[0]!.lines - (text.slice(0, at).split('\n').length - 1));
        joined++;
      }
    }
    expect(joined).toBeGreaterThan(20);
  });

  it('in the middle of a process: the main thread reads the rest itself', async () => {
    const why = new Set<string>();
    for (const path of FIXTURES) {
      for (const at of some(rowStarts(path, true), 6)) {
        const [split] = (await both(path, { minBytes: 0, at }, 0)).capture.splits;
        if (split === undefined) continue;
        expect(split.joined).toBe(false);
        why.add(split.why!);
      }
    }
    expect(why).toContain('a process is listed on both sides');
  });
});

describe('a split file folds from its first row (no foldAfter given: the CLI\'s default)', () => {
  it('a capture of fewer sockets than FOLD_AFTER: the worker\'s reading is joined, and the report is the one of records', async () => {
    let joined = 0;
    for (const path of FIXTURES) {
      for (const at of some(rowStarts(path, false), 8)) {
        // one thread keeps every socket as a record (under FOLD_AFTER); two fold from the first row
        const two = await both(path, { minBytes: 0, at });
        const [split] = two.capture.splits;
        if (split === undefined) continue; // before the first lines read (the head)
        expect(split).toMatchObject({ boundary: at, joined: true });
        joined++;
      }
    }
    expect(joined).toBeGreaterThan(15);
  });

  it('another capture in the same file (ss after lsof, before or after the split): read again as one thread reads it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fdleak-tail-'));
    try {
      const lsof = readFileSync('fixtures/lsof/list-everything.txt', 'latin1');
      const ss = readFileSync('fixtures/ss/tanp.txt', 'latin1');
      const lsofRows = lsof.slice(lsof.indexOf('\n') + 1);
      const cases = [
        { name: 'ss-after.txt', text: lsof + ss, parts: 2 }, // ss in the worker's half
        { name: 'ss-between.txt', text: lsof + ss + lsof.slice(0, lsof.indexOf('\n') + 1) + lsofRows, parts: 3 }, // ss in the main thread's
      ];
      for (const { name, text, parts } of cases) {
        const path = join(dir, name);
        writeFileSync(path, text, 'latin1');
        const at = rowStarts(path, false).filter((a) => a > lsof.length / 2 && a < text.length - lsofRows.length / 4)[0]!;
        const two = await both(path, { minBytes: 0, at });
        expect(two.capture.inputs.map((i) => i.format)).toEqual(parts === 2 ? ['lsof', 'ss'] : ['lsof', 'ss', 'lsof']);
        expect(two.capture.splits.every((sp) => !sp.joined)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the worker met addresses, lsof socket protocols and inode texts the main thread did not, or in another order', () => {
  it('renumbered as its fold is taken in: the report of one thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fdleak-tail-'));
    try {
      // rows as lsof -n prints them (fixtures/lsof/close-wait-filter.txt, fixtures/lsof-sock); process 200's
      // part, read by the worker, names a new remote first, then the main thread's one; new
      // protocols before the known one; an inode written with a leading 0 (kept as its text)
      const row = (pid: number, fd: number, type: string, device: string, node: string, name: string): string =>
        `pgbouncer ${String(pid).padStart(4)} root ${String(fd).padStart(4)}u ${type.padEnd(4)} ${device.padStart(18)}      0t0 ${node.padStart(7)} ${name}`;
      const closeWait = (pid: number, fd: number, local: string, remote: string): string =>
        row(pid, fd, 'IPv4', String(pid * 1000 + fd), 'TCP', `${local}->${remote} (CLOSE_WAIT)`);
      const sock = (pid: number, fd: number, name: string, inode = String(pid * 1000 + fd)): string => row(pid, fd, 'sock', '0,9', inode, name);
      const a = [
        closeWait(100, 3, '10.0.0.9:40001', '10.0.0.1:5432'), closeWait(100, 4, '10.0.0.9:40002', '10.0.0.1:5432'),
        sock(100, 5, 'protocol: TCP'), sock(100, 6, 'protocol: TCP'),
        // past the lines read before a split (the head)
        ...Array.from({ length: 80 }, (_, i) => row(100, 10 + i, 'IPv4', String(100_100 + i), 'TCP', `10.0.0.9:${41000 + i}->10.0.0.1:5432 (ESTABLISHED)`)),
      ];
      // 12 of each, past the rules' thresholds (10): findings whose evidence names them
      const b = [
        ...Array.from({ length: 12 }, (_, i) => closeWait(200, 3 + i, `10.0.0.${i < 6 ? 8 : 9}:${40001 + i}`, i % 3 === 0 ? '10.0.0.2:6432' : '10.0.0.1:5432')),
        ...Array.from({ length: 12 }, (_, i) => sock(200, 20 + i, ['protocol: UDP', "can't identify protocol", 'protocol: TCP'][i % 3]!, i === 11 ? '0200031' : undefined)),
      ];
      const head = 'COMMAND    PID USER   FD   TYPE             DEVICE SIZE/OFF    NODE NAME';
      const path = join(dir, 'renumbered.txt');
      writeFileSync(path, [head, ...a, ...b, ''].join('\n'), 'latin1');
      const at = [head, ...a].join('\n').length + 1;
      const two = await both(path, { minBytes: 0, at }, 0);
      expect(two.capture.splits[0]).toMatchObject({ boundary: at, joined: true });
      const doc = JSON.parse(two.json) as { findings: Array<{ rule: string }> };
      expect(doc.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['close-wait', 'orphan-sockets']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a big capture made by the bench generator', () => {
  const LINES = 200_000;
  let dir: string;
  let big: string;
  let asIs: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fdleak-tail-'));
    big = join(dir, 'other-processes.txt');
    asIs = join(dir, 'as-is.txt');
    execFileSync(process.execPath, ['bench/replicate.mjs', 'fixtures/lsof/list-everything.txt', big, String(LINES)]);
    execFileSync(process.execPath, ['bench/replicate.mjs', 'fixtures/lsof/list-everything.txt', asIs, String(LINES), '--as-is']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is read by two threads past the size threshold, the worker reading the second half', async () => {
    const size = statSync(big).size;
    expect(size).toBeGreaterThan(16 << 20);
    const two = await both(big, {});
    const [split] = two.capture.splits;
    expect(split).toMatchObject({ joined: true, size });
    expect(split!.boundary).toBeGreaterThan(size * 0.45);
    expect(split!.workerLines).toBeGreaterThan(LINES / 4);
    expect(split!.workerRows).toBeGreaterThan(1000); // distinct sockets the worker folded
  });

  it('split in the middle of a process: the main thread reads the rest itself', async () => {
    const size = statSync(big).size;
    const two = await both(big, { at: Math.floor(size / 2) + 7 });
    expect(two.capture.splits[0]).toMatchObject({ joined: false, why: 'a process is listed on both sides' });
  });

  it('a worker that fails: the main thread reads the rest itself', async () => {
    const two = await both(big, { failAfter: 1000 });
    expect(two.capture.splits[0]!.joined).toBe(false);
    expect(two.capture.splits[0]!.why).toMatch(/worker failed: failing on purpose/);
  });

  it('a worker that cannot start: one thread', async () => {
    const two = await both(big, { worker: new URL('file:///nonexistent/analyze-worker.js') });
    expect(two.capture.splits.some((s) => s.joined)).toBe(false);
  });

  it('captures pasted together (PIDs go down): no worker is started', async () => {
    const two = await both(asIs, {});
    expect(two.capture.splits).toEqual([]);
  });

  it('a worker started before the capture is opened (Tail.early, as bin/fdleak.js starts it) is taken and its reading joined', async () => {
    const size = statSync(big).size;
    const early = Tail.early(big, 2, () => false, WORKER); // threads 2: started whether a core looks free or not
    expect(early).not.toBeNull();
    const two = await both(big, { early });
    expect(two.capture.splits).toHaveLength(1);
    expect(two.capture.splits[0]).toMatchObject({ early: true, joined: true, size });
    // it did the work: the lines and distinct sockets of its part (the main thread's share is a
    // little over half), read on the worker
    expect(two.capture.splits[0]!.workerLines).toBeGreaterThan(LINES / 4);
    expect(two.capture.splits[0]!.workerRows).toBeGreaterThan(1000);
  });

  it('an early worker on another file is ended, and one is started as always', async () => {
    const copy = join(dir, 'copy.txt');
    copyFileSync(big, copy); // the same bytes under another name: not the file the capture reads
    const onOther = Tail.early(copy, 2, () => false, WORKER);
    expect(onOther).not.toBeNull();
    const two = await both(big, { early: onOther });
    expect(two.capture.splits[0]).toMatchObject({ joined: true });
    expect(two.capture.splits[0]!.early).toBeUndefined();
  });

  it('no early worker: one thread asked for, a small file, stdin, a file that is not there', () => {
    expect(Tail.early(big, 1, () => true, WORKER)).toBeNull();
    expect(Tail.early('fixtures/lsof/list-everything.txt', 2, () => true, WORKER)).toBeNull();
    expect(Tail.early('-', 2, () => true, WORKER)).toBeNull();
    expect(Tail.early(join(dir, 'none.txt'), 2, () => true, WORKER)).toBeNull();
    expect(Tail.early(big, 'auto', () => false, WORKER)).toBeNull(); // no core to spare
  });

  it('a file below the threshold: no worker', async () => {
    const two = await both('fixtures/lsof/list-everything.txt', {});
    expect(two.capture.splits).toEqual([]);
  });
});

describe('a socket on both sides of the split', () => {
  afterAll(stopAll);

  it('lsof -nP -p PID,CHILD of a forked child sharing every socket: the main thread reads the child itself', async (ctx) => {
    if (!hasLsof()) return ctx.skip('lsof is not installed');
    const { text } = await lsofOfSocketMix();
    const dir = mkdtempSync(join(tmpdir(), 'fdleak-tail-'));
    try {
      const path = join(dir, 'mix.txt');
      writeFileSync(path, text, 'latin1');
      const [at] = rowStarts(path, false); // the second process's first row
      expect(at).toBeDefined();
      const two = await both(path, { minBytes: 0, at }, 0);
      expect(two.capture.splits[0]).toMatchObject({ boundary: at, joined: false, why: 'a socket is listed on both sides, or a cap is passed' });
      expect(two.capture.splits[0]!.workerRows).toBeGreaterThan(50); // the worker did read the child's sockets
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
