/**
 * The fd walk of `fdleak scan`: for each process, how many fds it holds, how many are sockets and
 * the inodes of those, read from /proc/<pid>/fd. Shared by the main thread (live/scan.ts) and the
 * helper thread (threads/scan-worker.ts), which bundles only this file. Quirks handled:
 * - st_size of /proc/<pid>/fd is the kernel's fd count (proc_fd_getattr, Linux 6.2 and later),
 *   readable even where the links are not: fds 0, 1, 2, ... are read without a readdir until
 *   that many are found, a few holes stepped over, and the directory is listed only where holes
 *   are many (walkFds);
 * - "socket:[12345]" is a socket whose number is the inode of its /proc/net row
 *   (model/fd-target.ts socketInodeOf);
 * - a denied readlink (another user's process; root against pid 1 here) stops at once: the check
 *   is per process, and the count is the kernel's, or the listing's, or unknown;
 * - an fd closed between the count and its readlink is skipped; every fd gone means the process exited.
 * Synchronous fs calls, on purpose: a readlink costs ~3.5 µs this way (from inside the fd
 * directory, see enteringLinker), and the promise and callback APIs measured slower.
 * Over 400 lines because the helper thread's bundle is this file alone (scan-worker.ts): the walk,
 * the claims both threads share (walkShared, walkFirst) and the types they pass each other must
 * sit together, or the worker would load the scan's other modules to start.
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { errnoOf, isDenied, isVanished as isGone } from '../errors.js';
import type { FdKind } from '../model/fd.js';
import { fdKindOfTarget, socketInodeOf } from '../model/fd-target.js';
import type { ProcessStats } from '../model/scan.js';
import type { TallyResult } from '../parse/proc-net-tally.js';
import { ProcFileReader } from '../util/proc-file.js';
import { walkUnits } from './threads/scan-helper.js';

/**
 * ENOENT/ESRCH, and EINVAL: a process in the middle of exiting answers EINVAL to a listing of its
 * /proc/<pid>/net (seen on 6.18 during the bench). All three mean "it went away", never an error.
 */
export function isVanished(error: unknown): boolean {
  return isGone(error) || errnoOf(error) === 'EINVAL';
}

/** The few fs calls the scan makes; tests wrap the default to inject exits and EACCES. */
export interface ScanFs {
  list(path: string): string[];
  link(path: string): string;
  size(path: string): number;
  /** The whole file as bytes; the buffer may be reused by the next call. */
  read(path: string): Buffer;
  /**
   * The file in pieces of whole lines (util/proc-file.ts ProcFileReader.pieces), for the socket
   * tables; where it is missing, the table is read whole through read().
   */
  pieces?(path: string, each: (piece: Buffer) => void): void;
  /**
   * Optional fast path for the fd links: a reader of bare names inside a directory, or undefined
   * where it cannot work. The scan calls `done` when it has read its last link.
   */
  linker?(): FdLinker | undefined;
}

/** readlink of `name` in the absolute directory `dir`: what `link(dir + '/' + name)` returns. */
export interface FdLinker {
  link(dir: string, name: string): string;
  done(): void;
}

const procFiles = new ProcFileReader();

/** node:fs, with /proc files read into one reused buffer (they report st_size 0: read to EOF). */
export const NODE_FS: ScanFs = {
  list: (path) => readdirSync(path),
  link: (path) => readlinkSync(path),
  size: (path) => statSync(path).size,
  read: (path) => procFiles.read(path),
  pieces: (path, each) => procFiles.pieces(path, each),
  linker: enteringLinker,
};

/**
 * Reads fd links by bare name from inside the fd directory: one chdir per process, then
 * readlink("7") instead of readlink("/proc/123/fd/7"), which spares the kernel the lookup of
 * /proc, 123 and fd on every link (3.5 against 4.3 µs per link from Node: 15% off the walk). The
 * current directory is the whole process's: the caller's is restored by done(), and where it
 * cannot be known (removed) there is no linker. A failed chdir throws the errno readlink would
 * (ENOENT for an exited process, EACCES for another user's), so callers need not tell them apart.
 * On a worker thread, which may not chdir, links are read by full path (not importing
 * worker_threads to ask: it costs 3 ms of start-up).
 */
function enteringLinker(): FdLinker | undefined {
  let home: string;
  try {
    home = process.cwd();
  } catch {
    return undefined; // the current directory was removed: there would be no way back
  }
  let inside: string | null = null;
  let moved = false;
  let worker = false;
  return {
    link(dir, name) {
      if (inside !== dir) {
        if (worker) return readlinkSync(`${dir}/${name}`);
        inside = null;
        try {
          process.chdir(dir);
        } catch (error) {
          if (errnoOf(error) !== 'ERR_WORKER_UNSUPPORTED_OPERATION') throw error;
          worker = true;
          return readlinkSync(`${dir}/${name}`);
        }
        moved = true;
        inside = dir;
      }
      return readlinkSync(name);
    },
    done() {
      if (moved) {
        try {
          process.chdir(home);
        } catch {
          process.chdir('/'); // the caller's directory was removed meanwhile: not left in /proc
        }
      }
      moved = false;
      inside = null;
    },
  };
}

/**
 * A thread that walks fd tables beside the main one (scan-helper.ts). The processes are handed out
 * largest first; the main thread takes the very largest first (walkFirst), then the helper claims
 * from the largest end and the main thread from the smallest,
 * through one atomic count of claims, so they finish together whenever the helper gets a core, and
 * the main thread simply takes everything when it does not. The largest are the helper's because
 * it reads the socket tables after its first unit (scan-tables.ts): a process walked after that
 * read began gets its namespace read again if it holds an orphan candidate, and the largest fd
 * tables are the likeliest to hold leaked sockets. Measured on the bench load with a helper handed
 * its walk only after the main thread's first claim (one that came up late): with both threads
 * claiming from the front, the main thread took the 15,000-fd process (2,000 never-bound sockets),
 * its walk ended after the helper's read began, and the 38,600 rows were read again in 3 of 13
 * runs; claiming from the back, in none of 13.
 */
export interface WalkHelper {
  /** Offers these processes (by pid, and their fd count) under the absolute `procRoot`; undefined if the helper is gone. */
  share(procRoot: string, units: ReadonlyArray<{ pid: number; count: number }>): SharedWalk | undefined;
  /**
   * Offers the socket tables of these namespaces, each read through the first of its members still
   * alive under the absolute `procRoot` (live/net-tables.ts readNamespace), after share() and
   * while the walk may still go on: the helper takes them up between two units. Undefined if the
   * helper is gone. Claimed from one counter, like the walk.
   */
  shareTables?(procRoot: string, jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>): SharedTables | undefined;
  /**
   * A walk already handed out before the scan listed the processes (cli/prefetch.ts, through
   * shareEarly of scan-helper.ts), which the scan takes instead of offering its own; undefined if none.
   */
  offered?(): Offer | undefined;
}

/** A namespace's tables as read by either thread: through which member, and the tally; undefined when none was alive. */
export interface TablesRead {
  /** The tally; its inodes an InodeSet (util/inode-set.ts), moved whole from the helper where it read them. */
  read: { via: number | 'self'; tally: Omit<TallyResult, 'inodes'> & { inodes: ReadonlySet<number> } } | undefined;
  /** Milliseconds the read took. */
  ms: number;
}

export interface SharedTables {
  /** The next job index to read; past the last when none is left. */
  claim(): number;
  /** Whether either thread has claimed a job (so a read may have begun). */
  started(): boolean;
  /** What the helper read for a job it claimed; undefined if it could not (the main thread then reads it). */
  take(index: number): TablesRead | undefined;
  /** Whether the helper is done with a job (read, or given up), so that take() would not wait. */
  ready?(index: number): boolean;
  /** Jobs the helper thread claimed. */
  helped(): number;
}

export interface SharedWalk {
  /** The next unit index to walk; past the last when none is left. */
  claim(): number;
  /**
   * The largest unit not yet claimed (the helper claims from that end), for the main thread to walk
   * first (walkFirst); past the last when none is left. The helper reads no table while a unit
   * claimed so is not walked and said so (walkedHere).
   */
  claimFront?(): number;
  walkedHere?(index: number): void;
  /** What the helper found for a unit it claimed, once it is done; undefined if it could not walk it (the main thread then does). */
  take(index: number): WalkOutcome | undefined;
  /** The helper's timeline, ms since this thread's start: walk received, tables begun and ended, walk ended (0: not yet). */
  times?(): number[];
}

/** One process's fd walk as the helper reports it. */
export interface WalkOutcome {
  outcome: 'ok' | 'vanished';
  fds: number | null;
  sockets: number | null;
  unseen: 'permission' | null;
  inodes: number[];
  fdNames: number[];
  links: number;
  /** Walked after the helper claimed a namespace's tables (Walk.late). */
  late: boolean;
}


export interface Walk {
  process: ProcessStats;
  /** Inodes of its socket fds, and the fd holding each. */
  inodes: number[];
  fdNames: number[];
  /** readlink calls made by the walk. */
  links: number;
  /** Walked by the helper thread. */
  helped?: boolean;
  /**
   * Walked to its end after a table read may have begun (the helper's, which overlaps the walk):
   * a socket it holds may be newer than that read, so its orphan candidates are judged against a
   * read after the walk (live/scan.ts).
   */
  late?: boolean;
  /**
   * Set by the caller to have the walk count fds by kind and note when it read them (`scan
   * --sample`, which never hands walks to the helper); left undefined, the walk does neither.
   */
  kinds?: Record<FdKind, number>;
  /** Date.now() when the walk started (only with `kinds`). */
  at?: number;
}

/** How the walk reads one fd link: through the fs's linker where it has one, else by full path. */
export interface LinkReader {
  /** procRoot, made absolute while a linker moves the current directory around. */
  root: string;
  link(dir: string, name: string): string;
  /** Back to the caller's directory (the linker enters again on the next link). */
  done(): void;
}

export function linkReader(fs: ScanFs, procRoot: string): LinkReader {
  const linker = fs.linker?.();
  if (linker === undefined) return { root: procRoot, link: (dir, name) => fs.link(`${dir}/${name}`), done() {} };
  return { root: resolve(procRoot), link: (dir, name) => linker.link(dir, name), done: () => linker.done() };
}

/** The fd walk as handed out to a helper thread: the pids in the order of the units. */
export interface Offer {
  /** The absolute procRoot the walk is under. */
  root: string;
  pids: number[];
  /** Their fd counts (st_size), in the same order. */
  counts: number[];
  shared: SharedWalk;
  /**
   * Handed out before the scan (scan-helper.ts shareEarly): the largest units, already claimed
   * from the front and walked by this thread (walkFirst), and how long that took (ms); the scan
   * then walks no first unit of its own.
   */
  first?: FirstWalk[];
  firstMs?: number;
  /** performance.now() when it was handed out (for --debug's timeline). */
  handedOut?: number;
  /** Handed out before the scan too: each namespace's tables, job k being namespace netns[k]. */
  tables?: EarlyTables;
}

/** The socket tables handed to the helper: job k reads namespace netns[k] (its id, "net:[...]"). */
export interface EarlyTables {
  shared: SharedTables;
  netns: string[];
}

/**
 * Hands the fd walk of `pids` to the helper (st_size counts known), largest fd table first (one
 * stat each), so that neither thread is left with a big one at the end. Undefined if the helper
 * is gone: the caller walks alone.
 */
export function offerWalks(fs: ScanFs, root: string, pids: readonly number[], helper: WalkHelper): Offer | undefined {
  const units = walkUnits(root, pids, fs.size);
  const shared = helper.share(root, units);
  return shared === undefined ? undefined : { root, pids: units.map((u) => u.pid), counts: units.map((u) => u.count), shared };
}

/** A process record with nothing read yet but its pid: what a walk before the facts (or on the helper thread) fills in. */
export function bareProcess(pid: number): ProcessStats {
  return {
    pid, command: '', state: '', startTime: null, fds: 0, sockets: null, orphanSockets: null,
    fdLimit: null, limitUsed: null, netns: null, unseen: null, location: null,
  };
}

/** The unit the main thread walked first (walkFirst), to be taken into its process's walk by walkShared. */
export interface FirstWalk {
  index: number;
  outcome: WalkOutcome;
}

/**
 * The main thread's first unit (`index`, claimed with claimFront before the tables were handed to
 * the helper), walked before the facts: the largest process, which the helper thread would
 * otherwise walk before it reads the socket tables. Measured on the bench load (one process of
 * 15,000 fds, 150 of 200, a 38,600-row table; 2 cores; timelines of both threads from
 * performance marks): the helper, up ~60 ms after start, walked the big process (~105 ms), then
 * read the tables (~110 ms), while the main thread, done with its share of the walk, waited 20-40
 * ms for them. Now the main thread walks the big process (its readlinks of bare names are the
 * quicker: see enteringLinker) while the helper walks the next largest, and the helper's read
 * begins when both are done. The helper waits for this unit before any read (walkedHere), so it
 * is never late. Undefined where `index` is past the last unit.
 */
export function walkFirst(fs: ScanFs, reader: LinkReader, offer: Offer, index: number): FirstWalk | undefined {
  const { shared, pids } = offer;
  if (index >= pids.length) return undefined;
  const walk: Walk = { process: bareProcess(pids[index]!), inodes: [], fdNames: [], links: 0 };
  let outcome: 'ok' | 'vanished';
  try {
    outcome = walkFds(fs, reader.root, walk, true, reader.link);
  } finally {
    shared.walkedHere?.(index); // even if it threw: the helper must not wait for it
  }
  const p = walk.process;
  return { index, outcome: { outcome, fds: p.fds, sockets: p.sockets, unseen: p.unseen === 'permission' ? 'permission' : null, inodes: walk.inodes, fdNames: walk.fdNames, links: walk.links, late: false } };
}

/** Takes a walk made elsewhere (the helper thread's, or walkFirst's on a bare record) into the process's own walk. */
function adopt(walk: Walk, from: WalkOutcome): 'ok' | 'vanished' {
  const p = walk.process;
  p.fds = from.fds;
  p.sockets = from.sockets;
  p.unseen = from.unseen;
  walk.inodes = from.inodes;
  walk.fdNames = from.fdNames;
  walk.links = from.links;
  walk.late = from.late;
  finishLimit(p);
  return from.outcome;
}

/**
 * The main thread's side of a shared walk: it takes the units it walked first (walkFirst), walks
 * every unit it claims (skipping processes whose facts showed them gone), then takes the helper's
 * results for the others, walking any the helper could not. The outcome of every walk in `walks`;
 * each is marked late when `tablesStarted` said so after it (Walk.late). `between` is called after
 * each unit this thread walks and once after its last (live/scan.ts checks there whether the first
 * units' orphan candidates can be judged yet).
 */
export function walkShared(fs: ScanFs, reader: LinkReader, walks: readonly Walk[], offer: Offer, tablesStarted: () => boolean, first: readonly FirstWalk[] = [], between?: () => void): Map<Walk, 'ok' | 'vanished'> {
  const byPid = new Map(walks.map((w) => [w.process.pid, w]));
  const outcomes = new Map<Walk, 'ok' | 'vanished'>();
  const { pids, shared } = offer;
  const mine = new Set<number>();
  for (const done of first) {
    mine.add(done.index);
    const walk = byPid.get(pids[done.index]!);
    if (walk !== undefined) outcomes.set(walk, adopt(walk, done.outcome));
  }
  for (let i = shared.claim(); i < pids.length; i = shared.claim()) {
    mine.add(i);
    const walk = byPid.get(pids[i]!);
    if (walk === undefined) continue;
    outcomes.set(walk, walkFds(fs, reader.root, walk, true, reader.link));
    walk.late = tablesStarted(); // asked after its last readlink: false means no read had begun
    between?.();
  }
  between?.(); // once more before waiting for the helper's last units

  pids.forEach((pid, i) => {
    const walk = byPid.get(pid);
    if (walk === undefined || mine.has(i)) return;
    const theirs = shared.take(i);
    if (theirs === undefined) {
      outcomes.set(walk, walkFds(fs, reader.root, walk, true, reader.link));
      walk.late = tablesStarted();
      return;
    }
    walk.helped = true;
    outcomes.set(walk, adopt(walk, theirs));
  });
  return outcomes;
}

/**
 * Reads the fd links of one process: fds, sockets and the socket inodes. st_size of fd/ is the
 * kernel's count (reference 3.1; 6.2 and later), and the kernel hands out the lowest free fd, so
 * most tables are dense: fds 0, 1, 2, ... are read without a readdir, stepping over a few holes.
 * Past count / HOLE_TO_LISTING holes (or when st_size means nothing) the directory is listed and
 * the rest read by name. A denied readlink
 * (another user's process; root against pid 1 here) stops at once: the check is per process, and
 * the count is the kernel's, or the listing's, or unknown.
 */
export function walkFds(fs: ScanFs, procRoot: string, walk: Walk, sizeCounts: boolean, link: LinkReader['link']): 'ok' | 'vanished' {
  const p = walk.process;
  const dir = `${procRoot}/${p.pid}/fd`;
  let count: number | null = null;
  if (walk.kinds !== undefined) walk.at = Date.now();
  if (sizeCounts) {
    try {
      count = fs.size(dir);
    } catch (error) {
      if (isVanished(error)) return 'vanished';
      throw error;
    }
    if (count === 0) {
      p.fds = 0; // a kernel thread or a zombie
      p.sockets = 0;
      finishLimit(p);
      return 'ok';
    }
  }
  let found = 0;
  let sockets = 0;
  const { inodes, fdNames } = walk;
  const denied = (listed?: number): 'ok' => {
    p.fds = listed ?? count;
    p.unseen = 'permission';
    inodes.length = 0;
    fdNames.length = 0;
    finishLimit(p);
    return 'ok';
  };
  const kinds = walk.kinds;
  /** One fd read: counted, by kind when asked, and kept if it is a socket. */
  const record = (target: string, fdNo: number): void => {
    found++;
    if (kinds !== undefined) kinds[fdKindOfTarget(target)]++;
    const inode = socketInodeOf(target);
    if (inode >= 0) {
      sockets++;
      inodes.push(inode);
      fdNames.push(fdNo);
    }
  };
  // The dense part: fds 0, 1, 2, ... until the count is reached. A hole (ENOENT: an fd closed
  // below the highest, or the process exiting) is stepped over while holes stay few, because a
  // listing costs the whole directory: measured here, listing 15,000 fds took 13.6 ms (0.9 µs an
  // entry, 96 µs for 200) and a readlink of a missing fd 8.8 µs (Node builds an error for it).
  // So up to count / HOLE_TO_LISTING holes are probed; past that the listing is cheaper, and it
  // also tells a process that exited (every readlink failing) from a sparse table. On the bench
  // load every python3 process has one or two holes low in its table (closed pipe ends): listing
  // them cost the walk ~60 ms of each thread's time for 83,000 fds.
  let fd = 0;
  let holes = 0;
  if (count !== null) {
    for (;;) {
      try {
        for (; found < count; fd++) record(link(dir, fdName(fd)), fd);
        break;
      } catch (error) {
        if (isDenied(error)) {
          walk.links += fd + 1;
          return denied();
        }
        if (!isVanished(error)) throw error;
        fd++; // a hole, or the process exited: probe on, or let the listing tell which
        if (++holes * HOLE_TO_LISTING >= count) break;
      }
    }
    walk.links += fd;
  }
  if (count === null || found < count) {
    let names: string[];
    try {
      names = fs.list(dir);
    } catch (error) {
      if (isVanished(error)) return 'vanished';
      if (isDenied(error)) return denied();
      throw error;
    }
    let tried = 0;
    let gone = 0;
    for (const name of names) {
      if (Number(name) < fd) continue; // read above, or a hole then
      tried++;
      walk.links++;
      let target: string;
      try {
        target = link(dir, name);
      } catch (error) {
        if (isVanished(error)) { gone++; continue; } // closed since the listing
        if (isDenied(error)) return denied(names.length);
        throw error;
      }
      record(target, Number(name));
    }
    // Nothing read, every fd tried gone (holes of the dense part included): it exited meanwhile.
    if (found === 0 && holes + tried > 0 && gone === tried) return 'vanished';
  }
  p.fds = found;
  p.sockets = sockets;
  finishLimit(p);
  return 'ok';
}

/** A failed readlink costs about as much as listing this many directory entries (see walkFds). */
const HOLE_TO_LISTING = 10;

/**
 * "0", "1", ...: made once and shared by every process's walk (a string less per link). Grown one
 * at a time by the dense walk, so never past the largest fd table; a stray big fd gets its own.
 */
const FD_NAMES: string[] = [];

export function fdName(fd: number): string {
  if (fd === FD_NAMES.length) FD_NAMES.push(String(fd));
  return fd < FD_NAMES.length ? FD_NAMES[fd]! : String(fd);
}

export function finishLimit(p: ProcessStats): void {
  const soft = p.fdLimit?.soft;
  p.limitUsed = typeof soft === 'number' && soft > 0 && p.fds !== null ? p.fds / soft : null;
}
