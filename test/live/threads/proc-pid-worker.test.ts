/**
 * The worker that reads /proc/<pid>/fd and /proc/<pid>/net beside the main thread must change
 * nothing but the time: every snapshot collected with it equals the one collected without it, on a
 * captured /proc tree given as a relative path (the main thread chdirs while the worker reads), on
 * a live process whose fd table spans many chunks, and where the directory cannot be listed.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { collectLiveProcess } from '../../../src/live/diagnose.js';
import { readProcPidFd, readProcPidFdShared } from '../../../src/live/proc-pid.js';
import { FD_CHUNK, prefetchProcPid } from '../../../src/live/threads/proc-pid-worker.js';
import type { Snapshot } from '../../../src/model/snapshot.js';

const now = (): Date => new Date('2026-11-22T00:00:00.000Z');
const children: Array<{ kill(): boolean }> = [];
afterAll(() => {
  for (const child of children) child.kill();
});

/** A node process holding `files` fds on /dev/null plus a few pipes and sockets; resolves to its pid. */
async function holder(files: number): Promise<number> {
  const script = `
    const fs = require('node:fs'), net = require('node:net');
    for (let i = 0; i < ${files}; i++) fs.openSync('/dev/null', 'r');
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      net.connect(server.address().port, '127.0.0.1', () => console.log('ready'));
    });
    setTimeout(() => process.exit(0), 60000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return child.pid!;
}

describe('prefetchProcPid', () => {
  it('gives the same snapshot as the main thread alone on a captured /proc tree (relative path)', async () => {
    const procRoot = 'fixtures/rules/close-wait/fires-server-never-closes';
    const prefetch = prefetchProcPid(procRoot, 11400);
    expect(prefetch).toBeDefined();
    const shared = await collectLiveProcess(11400, { procRoot, prefetch, now });
    expect(shared).toEqual(await collectLiveProcess(11400, { procRoot, now }));
    expect(shared.fds).toHaveLength(39);
  });

  it('gives the same fd table on a live process spanning many chunks', async () => {
    const pid = await holder(FD_CHUNK * 20 + 7);
    const prefetch = prefetchProcPid('/proc', pid)!;
    await prefetch.names();
    // Let the worker start on its share first, so both threads surely read links here.
    for (let waited = 0; Atomics.load(prefetch.claims, 0) === 0 && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    const shared = await readProcPidFdShared(prefetch);
    expect((await prefetch.links())!.starts.length).toBeGreaterThan(0);
    const alone = readProcPidFd('/proc', pid);
    expect(shared.fds.length).toBeGreaterThan(FD_CHUNK * 20 + 7);
    expect(shared).toEqual(alone);
    // The socket tables the worker read are the ones the main thread would read. The process shares
    // the host's namespace: ownerless rows (TIME_WAIT) and file-nr come and go, and with other
    // processes' rows the line numbers of its own; its own rows stay.
    const own = (snapshot: Snapshot): unknown => ({
      ...snapshot,
      sockets: snapshot.sockets.filter((s) => s.owners.length > 0).map((s) => ({ ...s, origin: s.origin.source })),
      host: null,
    });
    const snapshot = await collectLiveProcess(pid, { prefetch: prefetchProcPid('/proc', pid), now, backlog: false });
    expect(own(snapshot)).toEqual(own(await collectLiveProcess(pid, { now, backlog: false })));
    expect(snapshot.sockets.filter((s) => s.state === 'ESTABLISHED' && s.owners.length > 0)).toHaveLength(2);
  });

  it('leaves a process that is not there to the main thread, which reports it as always', async () => {
    const prefetch = prefetchProcPid('/proc', 4_194_303);
    await expect(collectLiveProcess(4_194_303, { prefetch })).rejects.toThrow('pid 4194303: no such process');
    const procRoot = 'fixtures/rules/close-wait/fires-server-never-closes';
    const missing = prefetchProcPid(procRoot, 1)!;
    expect(await missing.names()).toBeNull();
  });
});
