/**
 * `fdleak scan`: every process of a /proc tree, its fd count, socket fds and orphan sockets, its
 * RLIMIT_NOFILE, and the socket tables of every network namespace in use. Files read:
 * - /proc: numeric entries only. Those are thread-group leaders; threads share their leader's fd
 *   table (reference 3.7), so a process is counted once however many threads it has;
 * - /proc/<pid>/stat (comm, state, starttime: comm may hold spaces and ")", read up to the last ") "),
 *   /proc/<pid>/limits ("Max open files" row, matched by prefix), readlink /proc/<pid>/ns/net;
 * - /proc/<pid>/fd: st_size is the kernel's fd count (proc_fd_getattr), readable even where the
 *   links are not; then readlink of each entry ("socket:[12345]" is a socket, the number is the
 *   inode of /proc/net/*). Where readlink is denied (another user's process, or even root against
 *   pid 1 here) the count stands and sockets stay unknown;
 * - /proc/<pid>/net/{tcp,tcp6,udp,udp6,udplite,udplite6,raw,raw6,icmp,icmp6,unix,netlink,packet}
 *   of ONE member per namespace, after the walk: only the inode column (and the TCP state) is
 *   scanned, straight from the bytes, because a host namespace can hold 100k rows. Its
 *   sockstat and sockstat6 first: a TCP table they show empty is not read (isEmptyTcp).
 * A socket fd whose inode is in no table of its namespace is an orphan if its fd still holds that
 * socket after the tables were read (one closed in between has no row for a good reason). Churn is
 * not an error: a process that exits mid-scan is counted as vanished, one whose fds cannot be read
 * as permission-skipped. Synchronous fs calls, on purpose: a readlink costs ~3.5 µs this way (from
 * inside the fd directory, see enteringLinker), and the promise and callback APIs measured slower.
 * When bin/fdleak.js found a core free (src/cli/prefetch.ts), a helper thread (scan-helper.ts)
 * takes its share of the walk, largest fd tables first, while this thread reads the facts: on the
 * 2-vCPU lab VM that walk of 45,000 links took 105-120 ms instead of ~170. Without a free core the
 * helper is not started (with one CPU-bound job beside it, it made the scan 1.05x slower). Reading
 * the socket tables on the helper while this thread scanned them measured no faster: the kernel's
 * formatting of the rows is most of their cost.
 */
import { closeSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { resolve } from 'node:path';
import { errnoOf, InputError, isDenied, isVanished as isGone } from '../errors.js';
import { formatIpv6 } from '../util/ip.js';
import { readHostSysctls, readNetSysctls } from './sysctls.js';

/**
 * ENOENT/ESRCH, and EINVAL: a process in the middle of exiting answers EINVAL to a listing of its
 * /proc/<pid>/net (seen on 6.18 during the bench). All three mean "it went away", never an error.
 */
function isVanished(error: unknown): boolean {
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

let shared = Buffer.allocUnsafe(1 << 16);

/** node:fs, with /proc files read into one reused buffer (they report st_size 0: read to EOF). */
export const NODE_FS: ScanFs = {
  list: (path) => readdirSync(path),
  link: (path) => readlinkSync(path),
  size: (path) => statSync(path).size,
  read(path) {
    const fd = openSync(path, 'r');
    try {
      let length = 0;
      for (;;) {
        if (length === shared.length) {
          const bigger = Buffer.allocUnsafe(shared.length * 2);
          shared.copy(bigger, 0, 0, length);
          shared = bigger;
        }
        const n = readSync(fd, shared, length, shared.length - length, null);
        if (n === 0) break;
        length += n;
      }
      return shared.subarray(0, length);
    } finally {
      closeSync(fd);
    }
  },
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

export type Limit = number | 'unlimited';

export interface ScannedProcess {
  pid: number;
  /** Kernel comm (up to 15 characters), as ps shows it. */
  command: string;
  /** stat field 3: "Z" for a zombie (no fds until reaped). */
  state: string;
  /** stat field 22: with pid, identifies the process across pid reuse. */
  startTime: number | null;
  /**
   * Open fds: entries of /proc/<pid>/fd, or its st_size where the links cannot be read; null when
   * neither is possible (another user's process on a kernel before 6.2, whose st_size is 0).
   */
  fds: number | null;
  /** Socket fds; null when the links could not be read. */
  sockets: number | null;
  /** Socket fds in no table of the process's network namespace; null when unknown. */
  orphanSockets: number | null;
  fdLimit: { soft: Limit; hard: Limit } | null;
  /** fds / soft limit, 0..1 (can exceed 1 after the limit was lowered); null when unlimited or unknown. */
  limitUsed: number | null;
  netns: string | null;
  /** Why sockets or orphans are unknown. */
  unseen: 'permission' | 'netns' | null;
}

/** One network namespace whose tables were read. */
export interface ScannedNetns {
  id: string;
  processes: number;
  /** The pid whose /proc/<pid>/net was read ("self": fdleak's own, no listed process is known
   * to share it); null if every member exited first. */
  readVia: number | 'self' | null;
  /** TCP rows by state (tcp + tcp6), kernel names. */
  tcpByState: Record<string, number>;
  /** Rows per table family: tcp, udp, udplite, raw, icmp, unix, netlink, packet. */
  rows: Record<string, number>;
  timeWait: {
    count: number;
    /** net.ipv4.ip_local_port_range; known only for fdleak's own namespace. */
    portRange: [number, number] | null;
    /** Client-side TIME_WAIT towards the busiest remote endpoint: the pool one destination draws from. */
    busiestPeer: { endpoint: string; count: number } | null;
  };
  /** Milliseconds spent reading its tables (first read). */
  readMs: number;
}

export interface ScanResult {
  takenAt: string;
  processes: ScannedProcess[];
  skipped: { permission: number; vanished: number };
  /** Who was skipped (permission: most fds first; they are still listed, with their fd count). */
  skippedProcesses: { permission: Array<{ pid: number; command: string }>; vanished: number[] };
  host: {
    processes: number;
    fds: number;
    /** fs/file-nr: file handles allocated and file-max. */
    fileNr: { allocated: number; max: number } | null;
    nrOpen: number | null;
    namespaces: ScannedNetns[];
  };
  warnings: string[];
  durationMs: number;
  /** Where the time went (ms) and how many fd links were read: for the bench, not for reports. */
  work: { facts: number; walk: number; tables: number; verify: number; links: number; verifyLinks: number; helped: number };
}

export interface ScanOptions {
  procRoot?: string;
  fs?: ScanFs;
  now?: () => Date;
  /** Left out of the scan: fdleak passes its own pid (its fd table changes while it reads it). */
  excludePids?: readonly number[];
  /** Called after the processes are listed and their facts read, before any fd is walked (tests). */
  afterList?: (pids: readonly number[]) => void;
  /** A second thread to share the fd walk with (scan-helper.ts); without one the walk is single-threaded. */
  helper?: WalkHelper;
}

/**
 * A thread that walks fd tables beside the main one (scan-helper.ts). The processes are handed out
 * largest first through one atomic counter that both threads take from, so they finish together
 * whenever the helper gets a core, and the main thread simply takes everything when it does not.
 */
export interface WalkHelper {
  /** Offers these processes (by pid, and their fd count) under the absolute `procRoot`; undefined if the helper is gone. */
  share(procRoot: string, units: ReadonlyArray<{ pid: number; count: number }>): SharedWalk | undefined;
}

export interface SharedWalk {
  /** The next unit index to walk; past the last when none is left. */
  claim(): number;
  /** What the helper found for a unit it claimed, once it is done; undefined if it could not walk it (the main thread then does). */
  take(index: number): WalkOutcome | undefined;
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
}

/** Kernel TCP states, st 0x01..0x0C (include/net/tcp_states.h); model/socket.ts has the same list behind zod. */
const TCP_STATE_NAMES = [
  'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
];
const TIME_WAIT = 6;
const LISTEN = 10;

/** Table file -> family shown in `rows`, and how to find the inode. */
interface TableSpec {
  file: string;
  family: string;
  kind: 'inet' | 'unix' | 'last';
}
const TABLES: readonly TableSpec[] = [
  ...['tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'icmp', 'icmp6'].map((file) => ({ file, family: file.replace(/6$/, ''), kind: 'inet' as const })),
  { file: 'unix', family: 'unix', kind: 'unix' },
  { file: 'netlink', family: 'netlink', kind: 'last' },
  { file: 'packet', family: 'packet', kind: 'last' },
];

export interface Walk {
  process: ScannedProcess;
  /** Inodes of its socket fds, and the fd holding each. */
  inodes: number[];
  fdNames: number[];
  /** readlink calls made by the walk. */
  links: number;
  /** Walked by the helper thread. */
  helped?: boolean;
}

/** Scans every process below `procRoot`. Throws InputError only if `procRoot` cannot be listed. */
export function scanProcesses(options: ScanOptions = {}): ScanResult {
  const started = performance.now();
  const procRoot = options.procRoot ?? '/proc';
  const fs = options.fs ?? NODE_FS;
  const takenAt = (options.now ?? (() => new Date()))().toISOString();
  const warnings: string[] = [];
  let names: string[];
  try {
    names = fs.list(procRoot);
  } catch (error) {
    throw new InputError(`cannot list the process directory: ${(error as Error).message}`, { source: procRoot });
  }
  const pids: number[] = [];
  for (const name of names) if (isPidName(name)) pids.push(Number(name));
  pids.sort((a, b) => a - b);

  const vanished: number[] = [];
  const walks: Walk[] = [];
  const exclude = new Set(options.excludePids ?? []);
  const sizeCounts = sizeIsCount(fs, procRoot);
  // With a helper thread, the fd walk is handed out first, so that it walks while this one reads facts.
  const offer = sizeCounts && options.helper !== undefined
    ? offerWalks(fs, resolve(procRoot), pids.filter((pid) => !exclude.has(pid)), options.helper) : undefined;
  for (const pid of pids) {
    if (exclude.has(pid)) continue;
    const proc = readFacts(fs, procRoot, pid);
    if (proc === undefined) vanished.push(pid);
    else walks.push({ process: proc, inodes: [], fdNames: [], links: 0 });
  }
  options.afterList?.(walks.map((w) => w.process.pid));

  const tFacts = performance.now();
  const reader = linkReader(fs, procRoot);
  const kept: Walk[] = [];
  let helped = 0;
  try {
    const outcomes = offer === undefined ? undefined : walkShared(fs, reader, walks, offer);
    walks.forEach((walk) => {
      const outcome = outcomes?.get(walk) ?? walkFds(fs, reader.root, walk, sizeCounts, reader.link);
      if (walk.helped) helped++;
      if (outcome === 'vanished') vanished.push(walk.process.pid);
      else kept.push(walk);
    });
  } finally {
    reader.done(); // back to the caller's directory before the tables: procRoot may be relative
  }

  const tWalk = performance.now();
  // Each namespace's tables once, through one member, after the walk.
  const members = new Map<string, number[]>();
  for (const { process: p } of kept) {
    if (p.netns === null) continue;
    const list = members.get(p.netns);
    if (list === undefined) members.set(p.netns, [p.pid]);
    else list.push(p.pid);
  }
  const selfNetns = readNetnsOf(fs, procRoot, 'self');
  const portRange = readNetSysctls(`${procRoot}/sys`).ipLocalPortRange;
  // Another user's processes hide their ns/net link: the summary still covers fdleak's own
  // namespace, read through /proc/self/net, even when no listed process is known to be in it.
  if (selfNetns !== null && !members.has(selfNetns)) members.set(selfNetns, []);
  const namespaces = new Map<string, { info: ScannedNetns; inodes: Set<number> }>();
  for (const [id, list] of members) {
    const t0 = performance.now();
    const read = readNamespace(fs, procRoot, list.length === 0 ? ['self'] : list);
    const info: ScannedNetns = {
      id, processes: list.length, readVia: read?.via ?? null,
      tcpByState: read?.tcpByState ?? {}, rows: read?.rows ?? {},
      timeWait: {
        count: read?.tcpByState.TIME_WAIT ?? 0,
        portRange: id === selfNetns ? portRange : null,
        busiestPeer: read?.busiestPeer ?? null,
      },
      readMs: ms(performance.now() - t0),
    };
    namespaces.set(id, { info, inodes: read?.inodes ?? new Set() });
  }

  const tTables = performance.now();
  let verifyLinks = 0;
  // A socket fd missing from the tables is an orphan only if its fd still holds it now, after the
  // table read: one closed in between (short-lived connection) has no row for a good reason.
  try {
    for (const walk of kept) {
      const p = walk.process;
      if (p.sockets === null) continue;
      if (walk.inodes.length === 0) {
        p.orphanSockets = 0;
        continue;
      }
      const ns = p.netns === null ? undefined : namespaces.get(p.netns);
      if (ns === undefined || ns.info.readVia === null) {
        p.unseen = 'netns';
        continue;
      }
      let orphans = 0;
      const dir = `${reader.root}/${p.pid}/fd`;
      for (let k = 0; k < walk.inodes.length; k++) {
        const inode = walk.inodes[k]!;
        if (ns.inodes.has(inode)) continue;
        let target: string;
        verifyLinks++;
        try {
          target = reader.link(dir, fdName(walk.fdNames[k]!));
        } catch (error) {
          if (isVanished(error) || isDenied(error)) continue; // closed since: not an orphan
          throw error;
        }
        if (socketInode(target) === inode) orphans++;
      }
      p.orphanSockets = orphans;
    }
  } finally {
    reader.done();
  }

  const tVerify = performance.now();
  const processes = kept.map((w) => w.process);
  const denied = processes.filter((p) => p.unseen === 'permission').sort((a, b) => (b.fds ?? -1) - (a.fds ?? -1) || a.pid - b.pid);
  const hostSys = readHostSysctls(`${procRoot}/sys`);
  let fds = 0;
  for (const p of processes) fds += p.fds ?? 0;
  for (const ns of namespaces.values()) {
    if (ns.info.readVia === null) warnings.push(`the socket tables of ${ns.info.id} could not be read: all its processes exited`);
  }
  return {
    takenAt,
    processes,
    skipped: { permission: denied.length, vanished: vanished.length },
    skippedProcesses: { permission: denied.map((p) => ({ pid: p.pid, command: p.command })), vanished: vanished.sort((a, b) => a - b) },
    host: { processes: processes.length, fds, fileNr: hostSys.fileNr, nrOpen: hostSys.nrOpen, namespaces: [...namespaces.values()].map((n) => n.info) },
    warnings,
    durationMs: ms(performance.now() - started),
    work: {
      facts: ms(tFacts - started), walk: ms(tWalk - tFacts), tables: ms(tTables - tWalk), verify: ms(tVerify - tTables),
      links: walks.reduce((n, w) => n + w.links, 0), verifyLinks, helped,
    },
  };
}

/**
 * Whether st_size of /proc/<pid>/fd is the fd count: Linux 6.2 and later (proc_fd_getattr);
 * before, it is 0 whatever the table holds. fdleak's own table is never empty, so a 0 there says
 * which. A tree without self/fd (a fixture) is taken at its word.
 */
function sizeIsCount(fs: ScanFs, procRoot: string): boolean {
  try {
    return fs.size(`${procRoot}/self/fd`) > 0;
  } catch {
    return true;
  }
}

/** How the walk reads one fd link: through the fs's linker where it has one, else by full path. */
interface LinkReader {
  /** procRoot, made absolute while a linker moves the current directory around. */
  root: string;
  link(dir: string, name: string): string;
  /** Back to the caller's directory (the linker enters again on the next link). */
  done(): void;
}

function linkReader(fs: ScanFs, procRoot: string): LinkReader {
  const linker = fs.linker?.();
  if (linker === undefined) return { root: procRoot, link: (dir, name) => fs.link(`${dir}/${name}`), done() {} };
  return { root: resolve(procRoot), link: (dir, name) => linker.link(dir, name), done: () => linker.done() };
}

/** The fd walk as handed out to a helper thread: the pids in the order of the units. */
interface Offer {
  pids: number[];
  shared: SharedWalk;
}

/**
 * Hands the fd walk of `pids` to the helper (st_size counts known), largest fd table first (one
 * stat each), so that neither thread is left with a big one at the end. Undefined if the helper
 * is gone: the caller walks alone.
 */
function offerWalks(fs: ScanFs, root: string, pids: readonly number[], helper: WalkHelper): Offer | undefined {
  const units = pids.map((pid) => {
    let count = 0;
    try {
      count = fs.size(`${root}/${pid}/fd`);
    } catch {
      // exited or denied: walkFds, on whichever thread, finds out and says which
    }
    return { pid, count };
  });
  units.sort((a, b) => b.count - a.count || a.pid - b.pid);
  const shared = helper.share(root, units);
  return shared === undefined ? undefined : { pids: units.map((u) => u.pid), shared };
}

/**
 * The main thread's side of a shared walk: it walks every unit it claims (skipping processes whose
 * facts showed them gone), then takes the helper's results for the others, walking any the helper
 * could not. The outcome of every walk in `walks`.
 */
function walkShared(fs: ScanFs, reader: LinkReader, walks: readonly Walk[], offer: Offer): Map<Walk, 'ok' | 'vanished'> {
  const byPid = new Map(walks.map((w) => [w.process.pid, w]));
  const outcomes = new Map<Walk, 'ok' | 'vanished'>();
  const { pids, shared } = offer;
  const mine = new Set<number>();
  for (let i = shared.claim(); i < pids.length; i = shared.claim()) {
    mine.add(i);
    const walk = byPid.get(pids[i]!);
    if (walk !== undefined) outcomes.set(walk, walkFds(fs, reader.root, walk, true, reader.link));
  }
  pids.forEach((pid, i) => {
    const walk = byPid.get(pid);
    if (walk === undefined || mine.has(i)) return;
    const theirs = shared.take(i);
    if (theirs === undefined) {
      outcomes.set(walk, walkFds(fs, reader.root, walk, true, reader.link));
      return;
    }
    const p = walk.process;
    p.fds = theirs.fds;
    p.sockets = theirs.sockets;
    p.unseen = theirs.unseen;
    walk.inodes = theirs.inodes;
    walk.fdNames = theirs.fdNames;
    walk.links = theirs.links;
    walk.helped = true;
    finishLimit(p);
    outcomes.set(walk, theirs.outcome);
  });
  return outcomes;
}

function ms(value: number): number {
  return Math.round(value * 10) / 10;
}

function isPidName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** stat, limits and netns of one process; undefined if it exited. */
function readFacts(fs: ScanFs, procRoot: string, pid: number): ScannedProcess | undefined {
  const dir = `${procRoot}/${pid}`;
  let stat: { command: string; state: string; startTime: number | null };
  try {
    stat = parseStat(fs.read(`${dir}/stat`).toString('latin1'), `${dir}/stat`);
  } catch (error) {
    if (isVanished(error)) return undefined;
    throw error;
  }
  let fdLimit: ScannedProcess['fdLimit'] = null;
  try {
    fdLimit = parseOpenFilesLimit(fs.read(`${dir}/limits`).toString('latin1'));
  } catch (error) {
    if (isVanished(error)) return undefined;
    if (!isDenied(error)) throw error;
  }
  return {
    pid, command: stat.command, state: stat.state, startTime: stat.startTime,
    fds: 0, sockets: null, orphanSockets: null, fdLimit, limitUsed: null,
    netns: readNetnsOf(fs, procRoot, pid), unseen: null,
  };
}

/**
 * Reads the fd links of one process: fds, sockets and the socket inodes. st_size of fd/ is the
 * kernel's count (reference 3.1; 6.2 and later), and the kernel hands out the lowest free fd, so
 * most tables are dense: fds 0..count-1 are read without a readdir. At the first hole (or when
 * st_size means nothing) the directory is listed and the rest read by name. A denied readlink
 * (another user's process; root against pid 1 here) stops at once: the check is per process, and
 * the count is the kernel's, or the listing's, or unknown.
 */
export function walkFds(fs: ScanFs, procRoot: string, walk: Walk, sizeCounts: boolean, link: LinkReader['link']): 'ok' | 'vanished' {
  const p = walk.process;
  const dir = `${procRoot}/${p.pid}/fd`;
  let count: number | null = null;
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
  // The dense part: fds 0, 1, 2, ... until the count is reached or a readlink fails.
  let fd = 0;
  if (count !== null) {
    try {
      for (; found < count; fd++) {
        const target = link(dir, fdName(fd));
        found++;
        const inode = socketInode(target);
        if (inode >= 0) {
          sockets++;
          inodes.push(inode);
          fdNames.push(fd);
        }
      }
      walk.links += fd;
    } catch (error) {
      walk.links += fd + 1;
      if (isDenied(error)) return denied();
      if (!isVanished(error)) throw error;
      // a hole, or the process exited: the listing tells which
    }
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
      if (Number(name) < fd) continue; // read above; fd itself was the hole
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
      found++;
      const inode = socketInode(target);
      if (inode >= 0) {
        sockets++;
        inodes.push(inode);
        fdNames.push(Number(name));
      }
    }
    if (found === 0 && tried > 0 && gone === tried) return 'vanished'; // exited between listing and reading
  }
  p.fds = found;
  p.sockets = sockets;
  finishLimit(p);
  return 'ok';
}

/**
 * "0", "1", ...: made once and shared by every process's walk (a string less per link). Grown one
 * at a time by the dense walk, so never past the largest fd table; a stray big fd gets its own.
 */
const FD_NAMES: string[] = [];

function fdName(fd: number): string {
  if (fd === FD_NAMES.length) FD_NAMES.push(String(fd));
  return fd < FD_NAMES.length ? FD_NAMES[fd]! : String(fd);
}

/** "socket:[12345]" -> 12345; -1 for anything else (115 is "s", 58 is ":"). */
function socketInode(target: string): number {
  if (target.charCodeAt(0) !== 115 || target.charCodeAt(6) !== 58 || !target.startsWith('socket:[')) return -1;
  let inode = 0;
  for (let i = 8; i < target.length - 1; i++) inode = inode * 10 + (target.charCodeAt(i) - 48);
  return inode;
}

function finishLimit(p: ScannedProcess): void {
  const soft = p.fdLimit?.soft;
  p.limitUsed = typeof soft === 'number' && soft > 0 && p.fds !== null ? p.fds / soft : null;
}

function readNetnsOf(fs: ScanFs, procRoot: string, pid: number | 'self'): string | null {
  try {
    return fs.link(`${procRoot}/${pid}/ns/net`);
  } catch {
    return null; // exited, a zombie, or not ptrace-able (another user's process)
  }
}

/** "1234 (my (odd) name) S 1 ..." -> comm, state, starttime (field 22). */
export function parseStat(text: string, source: string): { command: string; state: string; startTime: number | null } {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(') ');
  if (open < 0 || close < open) throw new InputError('expected "pid (comm) state ..."', { source, line: 1, text });
  const rest = text.slice(close + 2).split(' ');
  const startTime = Number(rest[19]);
  return { command: text.slice(open + 1, close), state: rest[0] ?? '?', startTime: Number.isInteger(startTime) ? startTime : null };
}

/** The "Max open files" row of /proc/<pid>/limits -> soft and hard; null if absent or odd. */
export function parseOpenFilesLimit(text: string): { soft: Limit; hard: Limit } | null {
  const at = text.indexOf('\nMax open files');
  if (at < 0) return null;
  const end = text.indexOf('\n', at + 1);
  const cols = text.slice(at + 15, end < 0 ? undefined : end).trim().split(/\s+/);
  const value = (t: string | undefined): Limit | null => (t === 'unlimited' ? 'unlimited' : t !== undefined && /^\d+$/.test(t) ? Number(t) : null);
  const soft = value(cols[0]);
  const hard = value(cols[1]);
  return soft === null || hard === null ? null : { soft, hard };
}

interface NamespaceRead {
  via: number | 'self';
  inodes: Set<number>;
  tcpByState: Record<string, number>;
  rows: Record<string, number>;
  busiestPeer: { endpoint: string; count: number } | null;
}

/** Reads the tables of a namespace through the first member still alive; undefined if none is. */
function readNamespace(fs: ScanFs, procRoot: string, members: ReadonlyArray<number | 'self'>): NamespaceRead | undefined {
  for (const pid of members) {
    try {
      return readTables(fs, `${procRoot}/${pid}/net`, pid);
    } catch (error) {
      if (isVanished(error) || isDenied(error)) continue; // that member exited (or is a zombie): try the next
      throw error;
    }
  }
  return undefined;
}

/** Throws ENOENT if the member exits before or during the read: the caller tries the next one. */
function readTables(fs: ScanFs, netDir: string, via: number | 'self'): NamespaceRead {
  const tally = new TableTally();
  // A table the kernel lacks (no IPv6, no udplite) is absent from the listing; a listed one that
  // turns ENOENT means the member exited mid-read, and a partial read would invent orphans.
  const present = new Set(fs.list(netDir));
  const tcp = tcpInUse(fs, netDir, present);
  for (const table of TABLES) {
    if (!present.has(table.file)) continue;
    if (tcp !== null && isEmptyTcp(table.file, tcp, tally)) tally.none(table.family);
    else tally.scan(fs.read(`${netDir}/${table.file}`), `${netDir}/${table.file}`, table);
  }
  return { via, inodes: tally.inodes, tcpByState: tally.states(), rows: tally.rows, busiestPeer: tally.busiestPeer() };
}

/**
 * One table's bytes as the scan sees them: the inodes of its rows, rows per family and, for tcp and
 * tcp6, rows by state. `file` is the table's name in /proc/<pid>/net ("tcp6", "unix", ...).
 */
export function tallyNetTable(text: Buffer, source: string, file: string): { inodes: Set<number>; rows: Record<string, number>; tcpByState: Record<string, number> } {
  const table = TABLES.find((t) => t.file === file);
  if (table === undefined) throw new Error(`not a table the scan reads: ${file}`);
  const tally = new TableTally();
  tally.scan(text, source, table);
  return { inodes: tally.inodes, rows: tally.rows, tcpByState: tally.states() };
}

/** sockstat and sockstat6 of a namespace: TCP sockets in use per family, TIME_WAIT sockets. */
interface TcpInUse {
  v4: number;
  v6: number | null;
  timeWait: number;
}

/**
 * TCP tables can be known empty without reading them, which matters because the kernel walks the
 * whole machine's TCP hash (every bucket, every namespace's sockets) for each one: ~8 ms per table
 * per namespace on the bench box, 20% of a scan's table time for a tcp6 with no row. A tcp or
 * tcp6 table lists the hashed sockets of its family (listening or connected: sockstat's "inuse",
 * per namespace and family), TIME_WAIT sockets ("tw": the namespace's, both families) and
 * half-open requests (only behind a listener of the family, itself "inuse"). So tcp is empty when
 * inuse and tw are 0, and tcp6 when its inuse is 0 and every TIME_WAIT socket was already a
 * TIME_WAIT row of tcp. sockstat is read before the tables, like them after the fd walk; null
 * (read everything) where it is missing or unexpected.
 */
function tcpInUse(fs: ScanFs, netDir: string, present: ReadonlySet<string>): TcpInUse | null {
  if (!present.has('sockstat')) return null;
  const v4 = /^TCP: inuse (\d+) orphan -?\d+ tw (\d+) /m.exec(fs.read(`${netDir}/sockstat`).toString('latin1'));
  if (v4 === null) return null;
  const v6 = present.has('sockstat6') ? /^TCP6: inuse (\d+)$/m.exec(fs.read(`${netDir}/sockstat6`).toString('latin1')) : null;
  return { v4: Number(v4[1]), v6: v6 === null ? null : Number(v6[1]), timeWait: Number(v4[2]) };
}

function isEmptyTcp(file: string, tcp: TcpInUse, tally: TableTally): boolean {
  if (file === 'tcp') return tcp.v4 === 0 && tcp.timeWait === 0;
  if (file === 'tcp6') return tcp.v6 === 0 && tcp.timeWait === tally.timeWaitRows();
  return false;
}

/** Where a table's scan is: the last line number seen (0: not even the header) and rows counted. */
interface Position {
  line: number;
  count: number;
}

const HEADERS: Record<'inet' | 'unix' | 'last', RegExp> = { inet: /^\s*sl\s/, unix: /^Num\s/, last: /^sk\s/ };

/**
 * Scans table bytes without building a string per row. Columns are whitespace-separated; the inode
 * is column 10 of the inet tables, column 7 of unix (before the path, which may hold spaces) and
 * the last column of netlink and packet. Row 1 is the header.
 */
class TableTally {
  readonly inodes = new Set<number>();
  readonly rows: Record<string, number> = {};
  private readonly codes = new Array<number>(TCP_STATE_NAMES.length + 1).fill(0);
  private readonly listenPorts = new Set<number>();
  /** TIME_WAIT rows: local port and remote endpoint (hex, as printed). */
  private readonly waiting: Array<[number, string]> = [];
  private readonly starts = new Int32Array(11);
  private readonly ends = new Int32Array(11);

  /** One table's text. */
  scan(buf: Buffer, source: string, table: TableSpec): void {
    const at: Position = { line: 0, count: 0 };
    this.scanRows(buf, 0, buf.length, source, table, at);
    this.rows[table.family] = (this.rows[table.family] ?? 0) + at.count;
  }

  /** Rows of buf[from, end), which ends at a row's end; the first row of a table is its header. */
  private scanRows(buf: Buffer, from: number, end: number, source: string, { family, kind }: TableSpec, at: Position): void {
    const length = end;
    let i = from;
    if (at.line === 0) {
      let headerEnd = buf.indexOf(10, from);
      if (headerEnd < 0 || headerEnd > end) headerEnd = end;
      const header = buf.toString('latin1', from, headerEnd);
      if (!HEADERS[kind].test(header)) throw new InputError(`unexpected header for a /proc/net table`, { source, line: 1, text: header });
      at.line = 1;
      i = headerEnd + 1;
    }
    const inodeCol = kind === 'inet' ? 9 : kind === 'unix' ? 6 : -1;
    const tcp = family === 'tcp';
    const { starts, ends } = this;
    let count = 0;
    let line = at.line;
    while (i < length) {
      line++;
      let col = 0;
      let lastStart = -1;
      let lastEnd = -1;
      // Tokenise one line up to the inode column (the rest is skipped with a native newline search:
      // a tcp row is 150 bytes and its inode ends near byte 95); netlink and packet need the last.
      while (i < length) {
        let c = buf[i]!;
        if (c === 10) break;
        if (c === 32 || c === 9) { i++; continue; }
        const s = i;
        while (i < length && (c = buf[i]!) !== 32 && c !== 9 && c !== 10) i++;
        starts[col] = s;
        ends[col] = i;
        lastStart = s;
        lastEnd = i;
        col++;
        if (col > inodeCol && inodeCol >= 0) {
          const nl = buf.indexOf(10, i);
          i = nl < 0 ? length : nl;
          break;
        }
        if (col === starts.length) col--; // only the last column matters from here on
      }
      i++; // past "\n"
      if (col === 0) continue;
      let s: number;
      let e: number;
      if (inodeCol < 0) { s = lastStart; e = lastEnd; } else {
        if (col <= inodeCol) throw new InputError(`expected at least ${inodeCol + 1} columns, found ${col}`, { source, line });
        s = starts[inodeCol]!; e = ends[inodeCol]!;
      }
      let inode = 0;
      for (let k = s; k < e; k++) {
        const d = buf[k]! - 48;
        if (d < 0 || d > 9) throw new InputError(`expected a decimal inode, found "${buf.toString('latin1', s, e)}"`, { source, line });
        inode = inode * 10 + d;
      }
      if (inode !== 0) this.inodes.add(inode);
      count++;
      if (!tcp) continue;
      const code = hexDigit(buf[starts[3]!]!) * 16 + hexDigit(buf[starts[3]! + 1]!);
      if (code > 0 && code < this.codes.length) this.codes[code]!++;
      if (code === LISTEN) this.listenPorts.add(portOf(buf, ends[1]!));
      else if (code === TIME_WAIT) this.waiting.push([portOf(buf, ends[1]!), buf.toString('latin1', starts[2]!, ends[2]!)]);
    }
    at.line = line;
    at.count += count;
  }

  /** TIME_WAIT rows counted so far (tcp and tcp6 alike; read after tcp, before tcp6). */
  timeWaitRows(): number {
    return this.codes[TIME_WAIT]!;
  }

  /** A table known to be empty (isEmptyTcp): its family is listed with 0 rows, as a read would. */
  none(family: string): void {
    this.rows[family] = this.rows[family] ?? 0;
  }

  states(): Record<string, number> {
    const out: Record<string, number> = {};
    this.codes.forEach((n, code) => { if (n > 0) out[TCP_STATE_NAMES[code - 1]!] = n; });
    return out;
  }

  /** Client-side TIME_WAIT (local port not a listener) counted by remote endpoint; the busiest. */
  busiestPeer(): { endpoint: string; count: number } | null {
    const byPeer = new Map<string, number>();
    for (const [port, remote] of this.waiting) if (!this.listenPorts.has(port)) byPeer.set(remote, (byPeer.get(remote) ?? 0) + 1);
    let best: [string, number] | null = null;
    for (const entry of byPeer) if (best === null || entry[1] > best[1] || (entry[1] === best[1] && entry[0] < best[0])) best = entry;
    return best === null ? null : { endpoint: decodeHexEndpoint(best[0]), count: best[1] };
  }
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** The 4 hex digits before the end of "0100007F:1F90" -> 8080. */
function portOf(buf: Buffer, end: number): number {
  return (hexDigit(buf[end - 4]!) << 12) | (hexDigit(buf[end - 3]!) << 8) | (hexDigit(buf[end - 2]!) << 4) | hexDigit(buf[end - 1]!);
}

/** "0100007F:1F90" -> "127.0.0.1:8080" (host-order words, reference 1.2); IPv6 -> "[::1]:8080". */
export function decodeHexEndpoint(text: string, order = endianness()): string {
  const [hex = '', portHex = ''] = text.split(':');
  const bytes: number[] = [];
  for (let w = 0; w + 8 <= hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((k) => parseInt(hex.slice(w + k, w + k + 2), 16));
    bytes.push(...(order === 'LE' ? word.reverse() : word));
  }
  const port = parseInt(portHex, 16);
  return bytes.length === 4 ? `${bytes.join('.')}:${port}` : `[${formatIpv6(bytes)}]:${port}`;
}

export const SCAN_SORTS = ['fds', 'sockets', 'orphans', 'headroom'] as const;
export type ScanSort = (typeof SCAN_SORTS)[number];

/**
 * Processes ranked by `sort`, worst first: most fds, most sockets, most orphans, or least headroom
 * (highest share of the soft limit used). Unknown values rank last; ties go to more fds, then pid.
 */
export function rankProcesses(processes: readonly ScannedProcess[], sort: ScanSort): ScannedProcess[] {
  const key = (p: ScannedProcess): number | null =>
    sort === 'fds' ? p.fds : sort === 'sockets' ? p.sockets : sort === 'orphans' ? p.orphanSockets : p.limitUsed;
  return [...processes].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) {
      if (ka === null) return 1;
      if (kb === null) return -1;
      return kb - ka;
    }
    return (b.fds ?? -1) - (a.fds ?? -1) || a.pid - b.pid;
  });
}
