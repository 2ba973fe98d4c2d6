/**
 * The worker of scan-helper.ts: takes units from the shared counter, walks each process's fd table
 * exactly as the main thread does (live/fd-walk.ts walkFds; full paths, because a worker may not
 * chdir), and writes what it found into the unit's slots. Bundled as dist/cli/scan-worker.js.
 */
import { readlinkSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { ProcessStats } from '../../model/scan.js';
import type { Walk } from '../fd-walk.js';
import { NODE_FS, walkFds } from '../fd-walk.js';
import type { SharedBuffers } from './scan-helper.js';
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

parentPort?.once('message', helpWalk);
parentPort?.postMessage('up');
