/**
 * The helper thread of `fdleak scan` (scan-helper.ts, and scan-worker.ts as `npm run build` bundles
 * it), driven directly: the main thread claims nothing here, so the helper walks every unit and
 * reads the tables of every namespace it is handed. The scan's own use of it is tested against
 * live processes in test/acceptance/scan.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Walk } from '../../../src/live/fd-walk.js';
import { NODE_FS, walkFds } from '../../../src/live/fd-walk.js';
import { readNamespace } from '../../../src/live/net-tables.js';
import { InodeSet } from '../../../src/util/inode-set.js';
import { DONE, FAILED, HERE, SLACK, startScanHelper, TODO } from '../../../src/live/threads/scan-helper.js';
import { socketFds } from '../../helpers/proc.js';

const WORKER = new URL('../../../dist/cli/scan-worker.cjs', import.meta.url);
let holder: ChildProcess;
let pid: number;

beforeAll(async () => {
  // 40 never-bound sockets and a few pipes: more sockets than SLACK, so a unit sized 0 overflows.
  holder = spawn('python3', ['-c', 'import os, socket, sys\nkeep = [socket.socket() for _ in range(40)] + [os.pipe() for _ in range(3)]\nlistener = socket.socket()\nlistener.bind(("127.0.0.1", 0))\nlistener.listen(1)\nprint("up", flush=True)\nsys.stdin.read()'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve) => holder.stdout!.once('data', resolve));
  pid = holder.pid!;
});
afterAll(() => { holder?.kill('SIGKILL'); });

const here = (p: number): Walk => {
  const walk: Walk = { process: { pid: p, command: '', state: '', startTime: null, fds: 0, sockets: null, orphanSockets: null, fdLimit: null, limitUsed: null, netns: null, unseen: null, location: null }, inodes: [], fdNames: [], links: 0 };
  walkFds(NODE_FS, '/proc', walk, true, (dir, name) => NODE_FS.link(`${dir}/${name}`));
  return walk;
};

/** Runs `test` with a process of 5,000 fds (pipes), killed after: its walk takes ~20 ms, long enough for this thread to act meanwhile. */
async function withBigHolder(test: (big: number) => Promise<void>): Promise<void> {
  const big = spawn('python3', ['-c', 'import os, resource, sys\nhard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\nresource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\nkeep = [os.pipe() for _ in range(2500)]\nprint("up", flush=True)\nsys.stdin.read()'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve) => big.stdout!.once('data', resolve));
    await test(big.pid!);
  } finally {
    big.kill('SIGKILL');
  }
}

async function helper(): Promise<NonNullable<ReturnType<typeof startScanHelper>>> {
  const h = startScanHelper(WORKER)!;
  expect(await h.ready()).toBe(true);
  return h;
}

describe('the scan helper', () => {
  it('walks a unit it claims to the same result as this thread', async () => {
    const h = await helper();
    const walk = h.share('/proc', [{ pid, count: 50 }])!;
    const theirs = walk.take(0)!;
    // The helper thread itself claimed the unit and walked it to the end: this thread claimed nothing.
    expect(walk.helper()).toEqual({ claimed: 1, done: 1 });
    expect(walk.state(0)).toBe(DONE);
    const mine = here(pid);
    expect(theirs).toMatchObject({ outcome: 'ok', fds: mine.process.fds, sockets: mine.process.sockets, unseen: null });
    expect(theirs.sockets).toBeGreaterThanOrEqual(40); // and its stdio: node's pipes to it are socketpairs
    expect(theirs.inodes).toEqual(mine.inodes);
    expect(theirs.fdNames).toEqual(mine.fdNames);
    expect(walk.claimed()).toBe(1);
    expect(h.share('/proc', [{ pid, count: 50 }])).toBeUndefined(); // one walk per helper
  });

  it('gives back a unit whose sockets do not fit its slots, for this thread to walk', async () => {
    const h = await helper();
    const walk = h.share('/proc', [{ pid, count: 0 }, { pid, count: 50 }])!;
    expect(walk.take(0)).toBeUndefined();
    const second = walk.take(1)!;
    expect(walk.helper()).toEqual({ claimed: 2, done: 1 }); // it tried both, and gave the first back
    expect([walk.state(0), walk.state(1)]).toEqual([FAILED, DONE]);
    // Why it gave it back: more sockets than the slots of a unit sized 0 (SLACK).
    expect(second.sockets).toBeGreaterThan(SLACK);
    expect(second.sockets).toBeGreaterThanOrEqual(40);
  });

  it('says a process that is gone has vanished', async () => {
    const gone = spawnSync('true').pid!; // exited and reaped
    const h = await helper();
    const walk = h.share('/proc', [{ pid: gone, count: 3 }])!;
    expect(walk.take(0)).toMatchObject({ outcome: 'vanished' });
    expect(walk.helper()).toEqual({ claimed: 1, done: 1 });
  });

  it('after the walk, reads the tables of a namespace it claims, as this thread reads them', async () => {
    const h = await helper();
    expect(h.shareTables('/proc', [[pid]])).toBeUndefined(); // not before the walk was handed out
    h.share('/proc', []); // a walk with nothing in it: the worker then waits for the tables
    const tables = h.shareTables('/proc', [[pid]])!;
    const theirs = tables.take(0)!; // this thread claimed nothing
    expect(tables.helped()).toBe(1);
    const mine = readNamespace(NODE_FS, '/proc', [pid])!;
    expect(theirs.read!.via).toBe(pid);
    // Every socket of the holder is a row of both reads (its listener, and node's socketpairs for
    // its stdio) but its 40 never-bound ones.
    const inodes = [...socketFds(pid).keys()].map(Number);
    const inTables = (set: ReadonlySet<number>): number[] => inodes.filter((i) => set.has(i)).sort();
    expect(inTables(theirs.read!.tally.inodes)).toHaveLength(inodes.length - 40);
    expect(inTables(theirs.read!.tally.inodes)).toEqual(inTables(mine.tally.inodes));
    // Moved as the table it is, not cloned as a Set (util/inode-set.ts): every inode it holds it says it has.
    expect(theirs.read!.tally.inodes).toBeInstanceOf(InodeSet);
    expect([...theirs.read!.tally.inodes]).toHaveLength(theirs.read!.tally.inodes.size);
    expect([...theirs.read!.tally.inodes].every((i) => theirs.read!.tally.inodes.has(i))).toBe(true);
    expect(theirs.read!.tally.tcpByState.LISTEN).toBeGreaterThanOrEqual(1);
    expect(Object.keys(theirs.read!.tally.rows).sort()).toEqual(Object.keys(mine.tally.rows).sort());
    expect(h.shareTables('/proc', [[pid]])).toBeUndefined(); // once
  });

  it('claims the largest units from the front while this thread claims from the back', async () => {
    await withBigHolder(async (big) => {
      const h = await helper();
      const walk = h.share('/proc', [{ pid: big, count: 5003 }, { pid, count: 50 }, { pid, count: 50 }])!;
      // The helper is on the 5,000-fd unit (or not yet started): this thread's claim is the last unit.
      const mine = walk.claim();
      expect(mine).toBe(2);
      expect(walk.take(0)!.fds).toBeGreaterThanOrEqual(5003);
      expect(walk.take(1)).toMatchObject({ outcome: 'ok' });
      expect(walk.helper()).toEqual({ claimed: 2, done: 2 });
      expect(walk.claim()).toBe(3); // none left
      expect(walk.claimed()).toBe(3);
    });
  });

  it('takes the tables up between two units of the walk, and says the units walked after are late', async () => {
    // The tables job, handed out right after the walk, is there when the helper is done with the big unit.
    await withBigHolder(async (big) => {
      const h = await helper();
      const walk = h.share('/proc', [{ pid: big, count: 5003 }, { pid, count: 50 }])!;
      const tables = h.shareTables('/proc', [[pid]])!;
      const first = walk.take(0)!;
      const second = walk.take(1)!;
      const read = tables.take(0)!;
      expect(walk.helper()).toEqual({ claimed: 2, done: 2 }); // this thread claimed nothing
      expect(tables.helped()).toBe(1);
      expect(first).toMatchObject({ outcome: 'ok', late: false }); // walked before the tables, always
      expect(first.fds).toBeGreaterThanOrEqual(5003);
      expect(second).toMatchObject({ outcome: 'ok', late: true }); // after them
      expect(second.inodes).toEqual(here(pid).inodes);
      expect(read.read!.via).toBe(pid);
    });
  });

  it('leaves this thread the largest unit when it claims from the front first (walkFirst), and goes on from the next', async () => {
    await withBigHolder(async (big) => {
      // Not waited for: this thread's front claim comes before the helper is up to claim anything.
      const h = startScanHelper(WORKER)!;
      const walk = h.share('/proc', [{ pid: big, count: 5003 }, { pid, count: 50 }, { pid, count: 50 }])!;
      expect(walk.claimFront!()).toBe(0);
      expect(await h.ready()).toBe(true);
      // The helper thread walked the other two, from the front, and never the first.
      expect(walk.take(1)).toMatchObject({ outcome: 'ok', fds: here(pid).process.fds });
      expect(walk.take(2)).toMatchObject({ outcome: 'ok' });
      expect(walk.helper()).toEqual({ claimed: 2, done: 2 });
      expect(walk.state(0)).toBe(TODO);
      expect(walk.claim()).toBe(3); // none left for this thread
      expect(walk.claimFront!()).toBe(3);
    });
  });

  it('reads no table before the unit this thread claimed from the front is walked, and reads them once it is', async () => {
    await withBigHolder(async (big) => {
      const h = startScanHelper(WORKER)!;
      const walk = h.share('/proc', [{ pid: big, count: 5003 }, { pid, count: 50 }])!;
      expect(walk.claimFront!()).toBe(0); // before the helper is up: the largest is this thread's
      const tables = h.shareTables('/proc', [[pid]])!;
      expect(await h.ready()).toBe(true);
      expect(walk.take(1)).toMatchObject({ outcome: 'ok', late: false }); // the helper walked the other
      // The tables job is there, and the helper has nothing left to walk: it waits for unit 0.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(tables.started()).toBe(false);
      walk.walkedHere!(0);
      const read = tables.take(0)!;
      expect(tables.helped()).toBe(1); // read on the helper thread, this one claimed nothing
      expect(read.read!.via).toBe(pid);
      expect(walk.state(0)).toBe(HERE);
    });
  });

  it('has V8 optimize hot functions on the thread that runs them, in the worker it starts', () => {
    // A worker that says how a function was optimized: at once, on its own thread ("up", which
    // ready() waits for), or queued for a background thread (V8's natives say which). Queued work
    // sometimes finishes before the question: each way is asked of 8 workers.
    const dir = mkdtempSync(join(tmpdir(), 'fdleak-optimize-'));
    try {
      const probe = join(dir, 'probe.cjs');
      writeFileSync(probe, [
        'function f(x) { return x + 1; }',
        '%PrepareFunctionForOptimization(f); f(1); f(2);',
        "%OptimizeFunctionOnNextCall(f, 'concurrent'); f(3);",
        'const now = (%GetOptimizationStatus(f) & 16) !== 0; // optimized',
        "require('node:worker_threads').parentPort.postMessage(now ? 'up' : 'queued');",
      ].join('\n'));
      const helperModule = new URL('../../../dist/live/threads/scan-helper.js', import.meta.url).href;
      const run = (code: string): string[] => spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', code], { encoding: 'utf8' }).stdout.trim().split('\n');
      // Started as scan starts its helper: always optimized at once.
      expect(run(`const { startScanHelper } = await import(${JSON.stringify(helperModule)});
        for (let i = 0; i < 8; i++) console.log(await startScanHelper(new URL('file://${probe}')).ready() ? 'up' : 'queued');`)).toEqual(Array(8).fill('up'));
      // The same worker started plainly: queued, at least once.
      expect(run(`const { Worker } = await import('node:worker_threads');
        for (let i = 0; i < 8; i++) console.log(await new Promise((resolve) => new Worker(${JSON.stringify(probe)}).once('message', resolve)));`)).toContain('queued');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says a namespace none of whose members is alive could not be read', async () => {
    const gone = spawnSync('true').pid!;
    const h = await helper();
    h.share('/proc', []);
    const tables = h.shareTables('/proc', [[gone]])!;
    expect(tables.take(0)).toEqual({ read: undefined, ms: expect.any(Number) });
    expect(tables.helped()).toBe(1);
  });
});
