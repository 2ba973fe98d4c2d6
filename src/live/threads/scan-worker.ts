/**
 * The worker of scan-helper.ts: takes units from the front (largest first), walks each process's fd table
 * exactly as the main thread does (live/fd-walk.ts walkFds; full paths, because a worker may not
 * chdir), and writes what it found into the unit's slots. Between two units it looks for the
 * tables job on its port: the socket tables of the namespaces, which it reads as the main thread
 * would (live/net-tables.ts readNamespace), those it claims, posting each tally back; then it walks
 * on, marking what it walks from then on as late. Bundled as dist/cli/scan-worker.cjs (CommonJS: rolldown.config.mjs).
 */
import { readlinkSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import type { TablesRead, Walk } from '../fd-walk.js';
import { bareProcess, NODE_FS, walkFds } from '../fd-walk.js';
import { readNamespace } from '../net-tables.js';
import type { SharedBuffers, SharedTablesJob, WalkJob } from './scan-helper.js';
import { DONE, FAILED, NUMS, TODO } from './scan-helper.js';

const link = (dir: string, name: string): string => readlinkSync(`${dir}/${name}`);

/**
 * Walks units until none is left to claim; after each, `between()` (the tables, once they are
 * there), which returns whether the units walked from then on are late. Never before the first: a
 * helper that comes up late would otherwise read the tables before the largest units were walked
 * (the main thread walks the largest itself, walkFirst, and this one the next), and any orphan
 * candidate of theirs costs a second read (live/scan.ts).
 */
function helpWalk(b: SharedBuffers, between: () => boolean): void {
  let late = false;
  // A claim counts towards ctl[0] (both threads' claims); the helper takes the next unit from the
  // front (ctl[3], shared with the main thread's first claim), and counts its own claims (ctl[1]).
  while (Atomics.add(b.ctl, 0, 1) < b.pids.length) {
    const i = Atomics.add(b.ctl, 3, 1);
    Atomics.add(b.ctl, 1, 1);
    let state = FAILED;
    try {
      state = walkUnit(b, i, late) ? DONE : FAILED;
    } catch {
      // anything unexpected: the main thread walks this unit again and reports it as it always does
    }
    if (state === DONE) Atomics.add(b.ctl, 2, 1);
    Atomics.store(b.state, i, state);
    Atomics.notify(b.state, i);
    late = between() || late;
  }
}

/** Walks unit i into its slots; false if its sockets do not fit them. */
function walkUnit(b: SharedBuffers, i: number, late: boolean): boolean {
  const proc = bareProcess(b.pids[i]!);
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
  b.nums[at + 6] = late ? 1 : 0;
  return true;
}

/** Reads the namespaces it claims until none is left: each tally posted on `port`, then its state set. */
function helpTables(job: SharedTablesJob, port: MessagePort): void {
  for (let i = Atomics.add(job.ctl, 0, 1); i < job.jobs.length; i = Atomics.add(job.ctl, 0, 1)) {
    Atomics.add(job.ctl, 1, 1);
    let state = FAILED;
    try {
      const t0 = performance.now();
      const read = readNamespace(NODE_FS, job.procRoot, job.jobs[i]!);
      const result: TablesRead = { read, ms: Math.round((performance.now() - t0) * 10) / 10 };
      if (read === undefined) port.postMessage({ index: i, result });
      else {
        // The inodes' table moved, not cloned (util/inode-set.ts says why).
        const packed = read.tally.inodes.pack();
        port.postMessage({ index: i, result: { ...result, read: { ...read, tally: { ...read.tally, inodes: undefined } } }, packed }, [packed.slots.buffer]);
      }
      state = DONE;
    } catch {
      // a table the parser rejects, or anything unexpected: the main thread reads it and says why
    }
    Atomics.store(job.state, i, state);
    Atomics.notify(job.state, i);
  }
}

/**
 * Whether every unit claimed from the front so far is walked: the main thread's first (walkFirst),
 * claimed before the tables were handed out, may still be walking, and a read begun before its walk
 * ends could not judge its orphan candidates. With `wait`, waits until it is (the main thread
 * always finishes it: walkedHere is called even if the walk throws).
 */
function frontWalked(b: SharedBuffers, wait: boolean): boolean {
  const front = Math.min(Atomics.load(b.ctl, 3), b.pids.length);
  for (let i = 0; i < front; i++) {
    while (Atomics.load(b.state, i) === TODO) {
      if (!wait) return false;
      Atomics.wait(b.state, i, TODO);
    }
  }
  return true;
}

// The walk, looking for the tables job between units (read once the front is walked); if it has
// not been read by the end of the walk, it is awaited (its list may be empty). Once the tables are
// read the port is closed: no listener is left and the thread ends.
parentPort?.once('message', ({ walk, port }: WalkJob) => {
  const now = (): number => performance.timeOrigin + performance.now() - walk.origin; // on the main thread's clock
  walk.times[0] = now();
  let job: SharedTablesJob | undefined;
  let tablesRead = false;
  const read = (wait: boolean): boolean => {
    if (!tablesRead && job !== undefined && frontWalked(walk, wait)) {
      walk.times[1] = now();
      helpTables(job, port);
      walk.times[2] = now();
      tablesRead = true;
    }
    return tablesRead;
  };
  const between = (): boolean => {
    job ??= receiveMessageOnPort(port)?.message as SharedTablesJob | undefined;
    return read(false);
  };
  helpWalk(walk, between);
  walk.times[3] = now();
  if (read(true)) port.close();
  else if (job === undefined) port.once('message', (m: SharedTablesJob) => { job = m; read(true); port.close(); });
});
parentPort?.postMessage('up');
