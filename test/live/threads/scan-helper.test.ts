/**
 * The helper thread of `fdleak scan` (scan-helper.ts, and scan-worker.ts as `npm run build` bundles
 * it), driven directly: the main thread claims nothing here, so the helper walks every unit. The
 * scan's own use of it is tested against live processes in test/live/scan.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Walk } from '../../../src/live/fd-walk.js';
import { NODE_FS, walkFds } from '../../../src/live/fd-walk.js';
import { DONE, FAILED, SLACK, startScanHelper } from '../../../src/live/threads/scan-helper.js';

const WORKER = new URL('../../../dist/cli/scan-worker.js', import.meta.url);
let holder: ChildProcess;
let pid: number;

beforeAll(async () => {
  // 40 never-bound sockets and a few pipes: more sockets than SLACK, so a unit sized 0 overflows.
  holder = spawn('python3', ['-c', 'import os, socket, sys\nkeep = [socket.socket() for _ in range(40)] + [os.pipe() for _ in range(3)]\nprint("up", flush=True)\nsys.stdin.read()'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve) => holder.stdout!.once('data', resolve));
  pid = holder.pid!;
});
afterAll(() => { holder?.kill('SIGKILL'); });

const here = (p: number): Walk => {
  const walk: Walk = { process: { pid: p, command: '', state: '', startTime: null, fds: 0, sockets: null, orphanSockets: null, fdLimit: null, limitUsed: null, netns: null, unseen: null, location: null }, inodes: [], fdNames: [], links: 0 };
  walkFds(NODE_FS, '/proc', walk, true, (dir, name) => NODE_FS.link(`${dir}/${name}`));
  return walk;
};

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
});
