/**
 * The main thread's side of `fdleak scan`'s second thread: a worker (scan-worker.ts) that walks
 * fd tables beside the main thread. bin/fdleak.js starts it (src/cli/prefetch.ts) before the
 * modules load, when a core is free, so that it is up by the time the walk starts (~30 ms).
 *
 * Everything goes through shared memory, because the main thread's scan is synchronous and never
 * turns the event loop: units (live/fd-walk.ts hands them out largest first) are claimed through
 * one atomic count of claims, the helper from the front and the main thread from the back (the
 * helper's k-th claim is unit k, the main thread's m-th unit n - m: the count keeps them apart);
 * the helper writes each result into its unit's slots and wakes the main thread
 * (Atomics.notify), which waits for a helper-claimed unit with Atomics.wait. A unit the helper
 * could not finish (an unexpected error, more sockets than its slots, no answer in time) is
 * walked again by the main thread, so the helper can only make a scan faster, never wrong. As
 * soon as the scan knows the namespaces (after the facts, while the walk goes on), it hands the
 * helper their socket tables the same way (shareTables), on a MessagePort given with the walk:
 * the helper looks at that port between two units (receiveMessageOnPort, no event loop), reads the
 * namespaces it claims, then goes back to the walk. Each tally is posted back on that port, its
 * inodes moved as the table they are (util/inode-set.ts), and read by the main thread with receiveMessageOnPort. A unit walked after the helper claimed a
 * namespace is "late" (WalkOutcome.late, Walk.late): its orphan candidates are judged against a
 * read after the walk (live/scan.ts).
 *
 * prefetch.js bundles this, and with it the fd walk (live/fd-walk.ts: shareEarly walks the largest
 * processes before the modules load); node: built-ins only, so it stays cheap to load.
 * Over 400 lines because everything the main thread does with the helper before and during the
 * scan (start it, hand out the walk and the tables, early or not, take back what it did) is one
 * protocol over the same shared buffers; split, each half would only make sense with the other.
 */
import type { EarlyTables, FirstWalk, Offer, SharedTables, SharedWalk, TablesRead, WalkHelper, WalkOutcome } from '../fd-walk.js';
import { linkReader, NODE_FS, walkFirst } from '../fd-walk.js';
import type { Packed } from '../../util/inode-set.js';
import { InodeSet } from '../../util/inode-set.js';
import { optimizeInPlace } from '../../util/optimize-in-place.js';

/** A unit's state in `state`. */
export const TODO = 0;
export const DONE = 1;
export const FAILED = 2;
/** Claimed from the front by the main thread and walked there (SharedWalk.claimFront, walkedHere). */
export const HERE = 3;

/**
 * Int32 slots per unit in `nums`: outcome (0 ok, 1 vanished), fds and sockets (-1: null), unseen
 * (1: permission), readlink calls, socket slots used, late (1: walked after the helper claimed a
 * namespace's tables).
 */
export const NUMS = 7;

/** Socket slots per unit beyond its fd count: fds opened between the stat and the walk. */
export const SLACK = 16;

/** The buffers both threads see; every array is a view of a SharedArrayBuffer. */
export interface SharedBuffers {
  procRoot: string;
  /**
   * [units claimed by either thread, units the helper claimed, units the helper walked to the end
   * (DONE), units claimed from the front (the next is unit ctl[3]): all the helper's and the main
   * thread's first (claimFront)]
   */
  ctl: Int32Array;
  pids: Int32Array;
  state: Int32Array;
  nums: Int32Array;
  /** Unit i's socket slots are [offsets[i], offsets[i + 1]) of inodes and fdNames. */
  offsets: Int32Array;
  /** The main thread's performance.timeOrigin: the helper writes `times` as ms after it. */
  origin: number;
  /**
   * When the helper got the walk, began and ended its tables read, and ended its walk (ms since
   * the main thread's start; 0: not yet): for --debug's timeline.
   */
  times: Float64Array;
  inodes: Float64Array;
  fdNames: Int32Array;
}

/** What the worker is handed first: the walk, and the port its tables job will come on (SharedTablesJob). */
export interface WalkJob {
  walk: SharedBuffers;
  port: import('node:worker_threads').MessagePort;
}

/**
 * The second job, sent on WalkJob.port while the walk may still go on: the socket tables of some
 * namespaces. `ctl` is [next job to claim, jobs the helper claimed]; the helper posts each job's
 * TablesRead back on that port as { index, result }, then sets its state (DONE, or FAILED: the
 * main thread reads it itself).
 */
export interface SharedTablesJob {
  procRoot: string;
  jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>;
  ctl: Int32Array;
  state: Int32Array;
}

/** The helper as started: ready() says whether its thread came up (tests wait for it; the scan never does). */
export interface ScanHelper extends WalkHelper {
  ready(): Promise<boolean>;
  offered(): Offer | undefined;
  /**
   * Hands out the walk of every process under the absolute `procRoot` now (shareEarly below), for
   * offered() to return to the scan; false where it could not.
   */
  shareEarly(procRoot: string): boolean;
  share(procRoot: string, units: ReadonlyArray<{ pid: number; count: number }>): HelpedWalk | undefined;
  shareTables(procRoot: string, jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>): SharedTables | undefined;
}

/** A shared walk, with what tests ask of it: how far it got and which thread did what. */
export interface HelpedWalk extends SharedWalk {
  /** Units claimed so far, by either thread. */
  claimed(): number;
  /** Units the helper thread claimed, and those it walked to the end (DONE), by its own count. */
  helper(): { claimed: number; done: number };
  /** A unit's state: TODO, DONE, FAILED or HERE. */
  state(index: number): number;
  /** Units claimed from the front so far, by either thread (claimFront, and the helper's claims). */
  front(): number;
  /** The helper's timeline (SharedBuffers.times). */
  times(): number[];
}

/** How long the main thread waits for the helper's units, in all, before walking them itself. */
const PATIENCE_MS = 5000;

function shared<T>(View: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  return new View(new SharedArrayBuffer(Math.max(1, length) * View.BYTES_PER_ELEMENT));
}

/**
 * Starts the worker at `workerUrl` (dist/cli/scan-worker.cjs). It is unref'd: it never keeps the
 * process alive, and a helper that never gets a core simply claims nothing. Undefined where a
 * worker cannot be started.
 */
export function startScanHelper(workerUrl: URL): ScanHelper | undefined {
  let worker: import('node:worker_threads').Worker;
  try {
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    optimizeInPlace();
    worker = new Worker(workerUrl, { stdout: false, stderr: false });
  } catch {
    return undefined;
  }
  worker.unref();
  let gone = false;
  const up = new Promise<boolean>((resolve) => {
    worker.once('message', (m) => resolve(m === 'up')); // its module loaded: it takes work at once
    worker.on('error', () => { gone = true; resolve(false); });
    worker.on('exit', () => { gone = true; resolve(false); });
  });
  let used = false;
  let tablesShared = false;
  let port: import('node:worker_threads').MessagePort | undefined;
  let early: Offer | undefined;
  const helper: ScanHelper = {
    ready: () => up,
    offered: () => early,
    shareEarly(procRoot) {
      early = shareEarly(helper, procRoot);
      return early !== undefined;
    },
    share(procRoot, units) {
      if (gone || used) return undefined;
      used = true;
      const n = units.length;
      const offsets = shared(Int32Array, n + 1);
      for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + units[i]!.count + SLACK;
      const buffers: SharedBuffers = {
        procRoot,
        ctl: shared(Int32Array, 4),
        pids: shared(Int32Array, n),
        state: shared(Int32Array, n),
        nums: shared(Int32Array, n * NUMS),
        offsets,
        origin: performance.timeOrigin,
        times: shared(Float64Array, 4),
        inodes: shared(Float64Array, offsets[n]!),
        fdNames: shared(Int32Array, offsets[n]!),
      };
      units.forEach((u, i) => (buffers.pids[i] = u.pid));
      const { MessageChannel } = process.getBuiltinModule('node:worker_threads');
      const channel = new MessageChannel();
      port = channel.port1;
      port.unref(); // read with receiveMessageOnPort only: never a reason to keep the process up
      const job: WalkJob = { walk: buffers, port: channel.port2 };
      worker.postMessage(job, [channel.port2]);
      return sharedWalk(buffers);
    },
    shareTables(procRoot, jobs) {
      if (gone || port === undefined || tablesShared) return undefined; // the worker takes the walk first, then this
      tablesShared = true;
      const { receiveMessageOnPort } = process.getBuiltinModule('node:worker_threads');
      const results = port;
      const job: SharedTablesJob = { procRoot, jobs, ctl: shared(Int32Array, 2), state: shared(Int32Array, jobs.length) };
      results.postMessage(job);
      const arrived = new Map<number, TablesRead>();
      let deadline: number | undefined;
      return {
        claim: () => Atomics.add(job.ctl, 0, 1),
        started: () => Atomics.load(job.ctl, 0) > 0,
        helped: () => Atomics.load(job.ctl, 1),
        ready: (i) => Atomics.load(job.state, i) !== TODO,
        take(i) {
          while (Atomics.load(job.state, i) === TODO) {
            deadline ??= performance.now() + PATIENCE_MS; // from the first wait: a take of a ready job starts no clock
            const left = deadline - performance.now();
            if (left <= 0 || Atomics.wait(job.state, i, TODO, left) === 'timed-out') return undefined;
          }
          if (Atomics.load(job.state, i) !== DONE) return undefined;
          // Posted before its state was set: already in the port's queue, read without the event loop.
          for (let m = receiveMessageOnPort(results); m !== undefined; m = receiveMessageOnPort(results)) {
            const { index, result, packed } = m.message as { index: number; result: TablesRead; packed?: Packed };
            if (packed !== undefined && result.read !== undefined) result.read.tally.inodes = InodeSet.unpack(packed);
            arrived.set(index, result);
          }
          return arrived.get(i);
        },
      };
    },
  };
  return helper;
}

function sharedWalk(b: SharedBuffers): HelpedWalk {
  let deadline: number | undefined;
  let back = b.pids.length; // this thread's last claim: it takes the smallest units first
  return {
    claimed: () => Math.min(Atomics.load(b.ctl, 0), b.pids.length),
    helper: () => ({ claimed: Atomics.load(b.ctl, 1), done: Atomics.load(b.ctl, 2) }),
    state: (i) => Atomics.load(b.state, i),
    front: () => Math.min(Atomics.load(b.ctl, 3), b.pids.length),
    times: () => [...b.times],
    claim: () => (Atomics.add(b.ctl, 0, 1) < b.pids.length ? --back : b.pids.length),
    claimFront: () => (Atomics.add(b.ctl, 0, 1) < b.pids.length ? Atomics.add(b.ctl, 3, 1) : b.pids.length),
    walkedHere(i) {
      Atomics.store(b.state, i, HERE);
      Atomics.notify(b.state, i); // the helper may be waiting for it to begin the tables (scan-worker.ts)
    },
    take(i: number) {
      deadline ??= performance.now() + PATIENCE_MS;
      while (Atomics.load(b.state, i) === TODO) {
        const left = deadline - performance.now();
        if (left <= 0 || Atomics.wait(b.state, i, TODO, left) === 'timed-out') return undefined;
      }
      return Atomics.load(b.state, i) === DONE ? outcomeOf(b, i) : undefined;
    },
  };
}

function outcomeOf(b: SharedBuffers, i: number): WalkOutcome {
  const at = i * NUMS;
  const from = b.offsets[i]!;
  const sockets = b.nums[at + 2]!;
  const found = b.nums[at + 5]!;
  return {
    outcome: b.nums[at] === 1 ? 'vanished' : 'ok',
    fds: b.nums[at + 1] === -1 ? null : b.nums[at + 1]!,
    sockets: sockets === -1 ? null : sockets,
    unseen: b.nums[at + 3] === 1 ? 'permission' : null,
    inodes: copied(b.inodes, from, found),
    fdNames: copied(b.fdNames, from, found),
    links: b.nums[at + 4]!,
    late: b.nums[at + 6] === 1,
  };
}

/**
 * `length` numbers of a shared array from `from`, as a plain array. An indexed loop: Array.from of
 * a typed subarray goes through its iterator (outcomeOf took 9 ms of the main thread in a cpu
 * profile of a bench scan; copying 45,000 slots in 1,000 units measured 2.8-4.7 ms that way,
 * 0.2-2.2 ms with this loop).
 */
function copied(shared: Float64Array | Int32Array, from: number, length: number): number[] {
  const out = new Array<number>(length);
  for (let k = 0; k < length; k++) out[k] = shared[from + k]!;
  return out;
}

/**
 * The units of a walk: each pid with its fd count (st_size of its fd directory under the absolute
 * `root`; 0 where it cannot be read: exited or denied, which the walk of either thread finds out
 * and says), largest first.
 */
export function walkUnits(root: string, pids: readonly number[], size: (path: string) => number): Array<{ pid: number; count: number }> {
  const units = pids.map((pid) => {
    let count = 0;
    try {
      count = size(`${root}/${pid}/fd`);
    } catch {
      // exited or denied: walkFds, on whichever thread, finds out and says which
    }
    return { pid, count };
  });
  units.sort((a, b) => b.count - a.count || a.pid - b.pid);
  return units;
}

/**
 * The units whose walk the tables read waits for, when the walk is handed out before the modules
 * load (shareEarly): the largest two. This thread claims the largest and walks it at once; the
 * second is walked by whichever thread gets to it first: the helper, if its thread is up by then,
 * while this thread walks the largest, else this thread after it. The helper reads no table while
 * a unit claimed from the front is unwalked, so their orphan candidates are judged by its read.
 * Measured on the bench load (15,000 + 11,500 fds, 150 x 200; 2 cores; --debug timelines):
 * with the first unit walked by the scan after the modules loaded and the second by the helper,
 * the helper began the tables at ~200 ms and this thread waited 20-40 ms for them after its walk;
 * with both walked here before the modules load, at 150-230 ms under load (8 runs, load 9-10),
 * this thread still waiting ~40 ms. With optimizeInPlace, 21 rotating rounds against the build
 * before these changes (SCHED_FIFO, load 6-8): wall 0.883x with the second left to whichever
 * thread is free, 0.922x with both walked here. With only the largest waited for, the read began
 * sooner but took 190-250 instead of 115-200 ms (before optimizeInPlace) and the scan ended later.
 */
const FRONT_UNITS = 2;

/**
 * Hands the helper the tables of every namespace (`jobs`: the members to read them through, of
 * namespace ids[i]) as the walk begins, the most fds first, so that it reads them while this
 * thread walks: measured on the bench load (56,800 fds, one namespace of 38,600 TCP rows; 2
 * cores), the read took 140-180 ms of the main thread after a walk already shared by both threads,
 * during which the helper had nothing to do. Undefined if the helper is gone (everything is read
 * here, after the walk).
 */
export function shareTables(helper: WalkHelper, procRoot: string, ids: readonly string[], jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>, sizes: readonly number[]): EarlyTables | undefined {
  const order = jobs.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const shared = helper.shareTables?.(process.getBuiltinModule('node:path').resolve(procRoot), order.map((i) => jobs[i]!));
  return shared === undefined ? undefined : { shared, netns: order.map((i) => ids[i]!) };
}

/** Fds (st_size, as offered to the walk) of each namespace's members (`netnsOf`): which namespace to read first. */
export function fdsByNetns(ids: readonly string[], netnsOf: ReadonlyMap<number, string | null>, offer: Offer): number[] {
  const byNetns = new Map<string, number>();
  offer.pids.forEach((pid, i) => {
    const netns = netnsOf.get(pid);
    if (netns !== undefined && netns !== null) byNetns.set(netns, (byNetns.get(netns) ?? 0) + offer.counts[i]!);
  });
  return ids.map((id) => byNetns.get(id) ?? 0);
}


/**
 * For cli/prefetch.ts, before the modules load: lists the processes under the absolute `procRoot`
 * (all but this one, whose fd table changes while it is read) and hands their walk to `helper`,
 * which starts on it as soon as its thread is up instead of waiting for the scan to list them;
 * reads each one's ns/net link and hands the helper every namespace's tables (shareTables); then
 * walks the largest here, on this thread, while the helper's thread starts (~40 ms) and walks the
 * next ones, and the second largest if the helper has not taken it (FRONT_UNITS). The helper
 * begins the tables once those are walked, while this thread loads the modules. Only where st_size of an fd directory is
 * the fd count (Linux 6.2 and later: the scan's own test, sizeIsCount); undefined otherwise, or if
 * the helper is gone. The scan walks whatever it lists that this missed, reads the tables of any
 * namespace this did not name, and skips what exited since.
 */
function shareEarly(helper: ScanHelper, procRoot: string): Offer | undefined {
  const { readdirSync, readlinkSync, statSync } = process.getBuiltinModule('node:fs');
  const size = (path: string): number => statSync(path).size;
  let names: string[];
  try {
    if (size(`${procRoot}/self/fd`) === 0) return undefined;
    names = readdirSync(procRoot);
  } catch {
    return undefined; // the scan says why
  }
  const pids: number[] = [];
  for (const name of names) if (/^\d+$/.test(name) && Number(name) !== process.pid) pids.push(Number(name));
  pids.sort((a, b) => a - b);
  const units = walkUnits(procRoot, pids, size);
  const shared = helper.share(procRoot, units);
  if (shared === undefined) return undefined;
  const offer: Offer = { root: procRoot, pids: units.map((u) => u.pid), counts: units.map((u) => u.count), shared };
  // The largest, claimed before the tables are handed out: the helper reads none before it is walked.
  const largest = shared.claimFront!();
  offer.tables = earlyTables(helper, procRoot, pids, offer, (pid) => readlinkSync(`${procRoot}/${pid}/ns/net`));
  const t0 = performance.now();
  offer.handedOut = t0;
  const first: FirstWalk[] = [];
  const reader = linkReader(NODE_FS, procRoot);
  try {
    for (let index = largest; index < units.length; index = shared.front() < FRONT_UNITS ? shared.claimFront!() : units.length) {
      const walked = walkFirst(NODE_FS, reader, offer, index)!;
      // Claimed after the tables were handed out: late if the helper may have begun them meanwhile.
      const late = index !== largest && offer.tables?.shared.started() === true;
      first.push({ index, outcome: { ...walked.outcome, late } });
    }
  } finally {
    reader.done();
  }
  offer.first = first;
  offer.firstMs = performance.now() - t0;
  return offer;
}

/**
 * The tables job of shareEarly, as the scan would hand it out (live/scan.ts): every namespace of
 * `pids` (ascending, so that each is read through the same member) and fdleak's own, each read
 * through its members in pid order, the most fds first.
 */
function earlyTables(helper: WalkHelper, procRoot: string, pids: readonly number[], offer: Offer, netnsOf: (pid: number | 'self') => string): EarlyTables | undefined {
  const members = new Map<string, number[]>();
  const of = new Map<number, string | null>();
  for (const pid of pids) {
    let netns: string;
    try {
      netns = netnsOf(pid);
    } catch {
      of.set(pid, null); // exited, or another user's: the scan finds out
      continue;
    }
    of.set(pid, netns);
    const list = members.get(netns);
    if (list === undefined) members.set(netns, [pid]);
    else list.push(pid);
  }
  try {
    const own = netnsOf('self');
    if (!members.has(own)) members.set(own, []);
  } catch {
    // the scan reads it, or says why
  }
  const ids = [...members.keys()];
  return shareTables(helper, procRoot, ids, ids.map((id) => (members.get(id)!.length === 0 ? ['self'] : members.get(id)!)), fdsByNetns(ids, of, offer));
}
