/**
 * The worker of scan-helper.ts: takes units from the shared counter, walks each process's fd table
 * exactly as the main thread does (live/fd-walk.ts walkFds; full paths, because a worker may not
 * chdir), and writes what it found into the unit's slots. After the walk, it may be handed the
 * socket tables of some namespaces: it reads those it claims as the main thread would
 * (live/net-tables.ts readNamespace) and posts each tally back. Bundled as dist/cli/scan-worker.js.
 */
import { readlinkSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { ProcessStats } from '../../model/scan.js';
import type { TablesRead, Walk } from '../fd-walk.js';
import { NODE_FS, walkFds } from '../fd-walk.js';
import { readNamespace } from '../net-tables.js';
import type { SharedBuffers, SharedTablesJob } from './scan-helper.js';
import { DONE, FAILED, NUMS } from './scan-helper.js';

const link = (dir: string, name: string): string => readlinkSync(`${dir}/${name}`);

/** Walks units until none is left to claim. */
export function helpWalk(b: SharedBuffers): void {
  for (let i = Atomics.add(b.ctl, 0, 1); i < b.pids.length; i = Atomics.add(b.ctl, 0, 1)) {
    Atomics.add(b.ctl, 1, 1);
    let state = FAILED;
    try {
      state = walkUnit(b, i) ? DONE : FAILED;
    } catch {
      // anything unexpected: the main thread walks this unit again and reports it as it always does
    }
    if (state === DONE) Atomics.add(b.ctl, 2, 1);
    Atomics.store(b.state, i, state);
    Atomics.notify(b.state, i);
  }
}

/** Walks unit i into its slots; false if its sockets do not fit them. */
function walkUnit(b: SharedBuffers, i: number): boolean {
  const proc: ProcessStats = {
    pid: b.pids[i]!, command: '', state: '', startTime: null, fds: 0, sockets: null, orphanSockets: null,
    fdLimit: null, limitUsed: null, netns: null, unseen: null, location: null,
  };
  const walk: Walk = { process: proc, inodes: [], fdNames: [], links: 0 };
  const outcome = walkFds(NODE_FS, b.procRoot, walk, true, link);
  const from = b.offsets[i]!;
  if (walk.inodes.length > b.offsets[i + 1]! - from) return false;
  b.inodes.set(walk.inodes, from);
  b.fdNames.set(walk.fdNames, from);
  const at = i * NUMS;
  b.nums[at] = outcome === 'vanished' ? 1 : 0;
  b.nums[at + 1] = proc.fds ?? -1;
  b.nums[at + 2] = proc.sockets ?? -1;
  b.nums[at + 3] = proc.unseen === 'permission' ? 1 : 0;
  b.nums[at + 4] = walk.links;
  b.nums[at + 5] = walk.inodes.length;
  return true;
}

/** Reads the namespaces it claims until none is left: each tally posted, then its state set. */
export function helpTables(job: SharedTablesJob): void {
  for (let i = Atomics.add(job.ctl, 0, 1); i < job.jobs.length; i = Atomics.add(job.ctl, 0, 1)) {
    Atomics.add(job.ctl, 1, 1);
    let state = FAILED;
    try {
      const t0 = performance.now();
      const read = readNamespace(NODE_FS, job.procRoot, job.jobs[i]!);
      const result: TablesRead = { read, ms: Math.round((performance.now() - t0) * 10) / 10 };
      job.port.postMessage({ index: i, result });
      state = DONE;
    } catch {
      // a table the parser rejects, or anything unexpected: the main thread reads it and says why
    }
    Atomics.store(job.state, i, state);
    Atomics.notify(job.state, i);
  }
  job.port.close();
}

// The walk first; then the tables job the scan hands out once the walk is over (its list may be
// empty): after it no listener is left and the thread ends, as it would after a walk alone.
parentPort?.once('message', (walk: SharedBuffers) => {
  helpWalk(walk);
  parentPort?.once('message', helpTables);
});
parentPort?.postMessage('up');
