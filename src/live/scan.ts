/**
 * `fdleak scan`: every process of a /proc tree, its fd count, socket fds and orphan sockets, its
 * RLIMIT_NOFILE, and the socket tables of every network namespace in use, as model records
 * (model/scan.ts) with the timings beside them. Files read:
 * - /proc: numeric entries only. Those are thread-group leaders; threads share their leader's fd
 *   table (reference 3.7), so a process is counted once however many threads it has;
 * - /proc/<pid>/stat and /proc/<pid>/limits, through the parsers diagnose uses (proc-pid.ts; the
 *   comm decoded as UTF-8), readlink /proc/<pid>/ns/net, and /proc/<pid>/cgroup for where it
 *   lives (parse/cgroup.ts; most processes share a few texts, so each text is classified once);
 * - /proc/<pid>/fd: the walk of fd-walk.ts (fds, socket fds and their inodes);
 * - /proc/<pid>/net/{tcp,tcp6,udp,udp6,udplite,udplite6,raw,raw6,icmp,icmp6,unix,netlink,packet}
 *   of ONE member per namespace, counted by parse/proc-net-tally.ts (only the inode column and the
 *   TCP state are scanned: a host namespace can hold 100k rows). Its sockstat and sockstat6 first:
 *   a TCP table they show empty is not read (live/net-tables.ts). After the walk, or during it on
 *   the helper thread (below);
 * - net.ipv4.ip_local_port_range of each namespace: /proc/sys for fdleak's own, and through
 *   `nsenter --net` for the others (root, live /proc only), one process per namespace, started
 *   before the walk and awaited after it.
 * A socket fd whose inode is in no table of its namespace (model/queries.ts isOrphanSocket, the
 * test diagnose and the rules use) is an orphan if its fd still holds that socket after the tables
 * were read (one closed in between has no row for a good reason); for the largest processes, walked
 * before any table read began, that check runs during the rest of the walk (scan-orphans.ts), the
 * others' after it. Churn is not an error: a process
 * that exits mid-scan is counted as vanished, one whose fds cannot be read as permission-skipped.
 * When bin/fdleak.js found a core free (src/cli/prefetch.ts), a helper thread (scan-helper.ts)
 * takes its share of the walk, largest fd tables first, while this thread walks the very largest
 * (walkFirst) and reads the facts: on the 2-vCPU lab VM that walk of 45,000 links took 105-120 ms
 * instead of ~170. Without a free core the
 * helper is not started (with one CPU-bound job beside it, it made the scan 1.05x slower). Once the
 * ns/net links say which namespaces there are (read first, before the other facts), the helper is
 * also handed their tables, which it reads between two units of its walk (once this thread's first
 * unit is walked) while this thread walks on (readNamespaces): reading them after
 * the walk left the helper idle for the 140-180 ms they took on the bench load. A read that began
 * before a process's walk ended cannot judge that process's orphan candidates (a socket may be
 * newer than the read): where such a process holds one, its namespace is read again after the walk.
 * From bin/fdleak.js (cli/prefetch.ts) all of that is handed out before the modules load: the
 * walk, every namespace's tables, and the two largest processes walked on this thread at once
 * (threads/scan-helper.ts shareEarly), so that the helper reads the tables while this thread loads
 * the modules; the scan takes that offer (offered()) and goes on from the facts.
 * The steps of one scan (facts, walk, tables, orphan check, sysctls) are here in the order they
 * must run; the tables step, and how it is shared with the helper, is scan-tables.ts, the orphan check scan-orphans.ts.
 * Over 400 lines because scanProcesses is where the order of the two threads' work is decided
 * (links, the tables' hand-over, the facts, the late re-reads), each step's reason measured beside
 * it; split, that order would be spread over files that only make sense together.
 */
import { resolve } from 'node:path';
import { InputError, isDenied } from '../errors.js';
import type { FdKind } from '../model/fd.js';
import type { Location } from '../model/location.js';
import type { Access, NetnsSummary, ProcessStats, ScanSnapshot } from '../model/scan.js';
import type { NetSysctls } from '../model/snapshot.js';
import { probeAccess } from './access.js';
import { locationFromFile } from './cgroup.js';
import { tcpInUse } from './net-tables.js';
import type { FirstWalk, ScanFs, Walk, WalkHelper } from './fd-walk.js';
import { isVanished, linkReader, NODE_FS, offerWalks, walkFds, walkFirst, walkShared } from './fd-walk.js';
import { judgeFirstEarly, judgeOrphans } from './scan-orphans.js';
import { ms, readNamespaces } from './scan-tables.js';
import { fdsByNetns, shareTables } from './threads/scan-helper.js';
import { parseProcPidLimits, parseProcPidStatBytes, readNetns } from './proc-pid.js';
import { readHostSysctls, readNetSysctls, readNetSysctlsIn } from './sysctls.js';

export type { ScanFs, WalkHelper } from './fd-walk.js';
export { NODE_FS } from './fd-walk.js';

/** Where the time went (ms) and how many fd links were read: for --debug, the bench and the duration metric; never part of the data. */
export interface ScanTimings {
  durationMs: number;
  facts: number;
  walk: number;
  tables: number;
  verify: number;
  /** Waiting for the other namespaces' sysctls after everything else was done. */
  sysctls: number;
  links: number;
  verifyLinks: number;
  /** Of the orphan check's readlinks, those made during the walk (judgeFirstEarly). */
  verifyLinksEarly: number;
  /** Processes whose fds the helper thread walked. */
  helped: number;
  /** Namespaces whose tables the helper thread read. */
  tablesHelped: number;
  /** Namespaces read again after the walk, because the helper's read began before a process holding an orphan candidate was walked. */
  tablesReread: number;
  /** Milliseconds spent reading each namespace's tables (first read), by namespace id. */
  tablesByNetns: Record<string, number>;
  /**
   * When each step ended, in ms since the process started (performance.now()), this thread's and
   * the helper's (threads/scan-helper.ts times): for --debug, to see which thread the end waits on.
   */
  timeline: { handedOut: number | null; began: number; walked: number; tables: number; verified: number; helper: number[] | null };
}

export interface ScanOutcome {
  snapshot: ScanSnapshot;
  timings: ScanTimings;
  /**
   * With `kinds`: per pid, when its fds were walked (Date.now()) and its fds by kind (null where
   * its links were refused). Undefined otherwise.
   */
  walked?: Map<number, WalkedFds>;
}

export interface WalkedFds {
  at: number;
  kinds: Record<FdKind, number> | null;
}

export interface ScanOptions {
  procRoot?: string;
  fs?: ScanFs;
  now?: () => Date;
  /** Left out of the scan: fdleak passes its own pid (its fd table changes while it reads it). */
  excludePids?: readonly number[];
  /**
   * Called after the processes are listed and their facts read, before any fd is walked on this
   * thread but the largest process's, with a helper (walkFirst) (tests).
   */
  afterList?: (pids: readonly number[]) => void;
  /** A second thread to share the fd walk with (scan-helper.ts); without one the walk is single-threaded. */
  helper?: WalkHelper;
  /**
   * The sysctls of a namespace other than fdleak's own, through /proc/<pid>/ns/net of a member.
   * Default: nsenter when reading the live /proc as root, else none (null).
   */
  netSysctls?: (netnsPath: string) => Promise<NetSysctls | { error: string }> | null;
  /**
   * Count each process's fds by kind and note when they were read (`scan --sample`): the two
   * reads of a process are then timed by its own walk, not the scan's start. The walk is then not
   * shared with the helper thread (both reads walk in pid order, so a process is read about the
   * same time into each). Off by default: plain scans do none of this.
   */
  kinds?: boolean;
}

/** Scans every process below `procRoot`. Throws InputError only if `procRoot` cannot be listed or a /proc file is not what the kernel writes. */
export async function scanProcesses(options: ScanOptions = {}): Promise<ScanOutcome> {
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
  // (or was handed out before this listing, by cli/prefetch.ts: the same walk, begun sooner)
  const offered = options.helper?.offered?.();
  const offer = !sizeCounts || options.helper === undefined || options.kinds === true ? undefined
    : offered?.root === resolve(procRoot) ? offered
      : offerWalks(fs, resolve(procRoot), pids.filter((pid) => !exclude.has(pid)), options.helper);
  // Each namespace's members (the ns/net link of every process, first: the tables can be handed to
  // the helper before the rest of the facts are read), and fdleak's own namespace (read through
  // /proc/self/net when no listed process is known to share it: another user's processes hide
  // their ns/net link).
  const netnsOf = new Map<number, string | null>();
  const members = new Map<string, number[]>();
  for (const pid of pids) {
    if (exclude.has(pid)) continue;
    const netns = readNetns(procRoot, pid, fs.link);
    netnsOf.set(pid, netns);
    if (netns === null) continue;
    const list = members.get(netns);
    if (list === undefined) members.set(netns, [pid]);
    else list.push(pid);
  }
  const selfNetns = readNetns(procRoot, 'self', fs.link);
  if (selfNetns !== null && !members.has(selfNetns)) members.set(selfNetns, []);
  const sysctls = startNetSysctls(options, fs, procRoot, members, selfNetns);

  // Each namespace's tables once, through one member still alive. With the helper, it is handed
  // them now and reads them while this thread walks (readNamespaces); alone, after the walk.
  const ids = [...members.keys()];
  const membersOf = (id: string, alive?: ReadonlySet<number>): ReadonlyArray<number | 'self'> => {
    const list = members.get(id)!;
    return list.length === 0 ? ['self'] : alive === undefined ? list : list.filter((pid) => alive.has(pid));
  };
  // With the helper, this thread claims the largest process (walkFirst) before the tables are
  // handed out and walks it at once, before the facts; the helper begins no table read before it
  // is walked (scan-worker.ts), so its orphan candidates are judged by that read. A walk handed out
  // before the scan (cli/prefetch.ts) comes with its first units walked and its tables handed out.
  const front = offer === undefined || offer.first !== undefined ? undefined : offer.shared.claimFront?.();
  const early = offer === undefined ? undefined
    : offer.tables ?? shareTables(options.helper!, procRoot, ids, ids.map((id) => membersOf(id)), fdsByNetns(ids, netnsOf, offer));
  const reader = linkReader(fs, procRoot);
  const first: FirstWalk[] = offer?.first ?? [];
  const tFirst = performance.now();
  try {
    const walked = offer === undefined || front === undefined ? undefined : walkFirst(fs, reader, offer, front);
    if (walked !== undefined) first.push(walked);
  } finally {
    reader.done(); // back to the caller's directory for the facts: procRoot may be relative
  }
  const firstMs = performance.now() - tFirst; // counted as walk time, not facts
  const earlyMs = offer?.firstMs ?? 0; // walked before the scan began: walk time too
  const places = new Map<string, Location | null>();
  for (const pid of pids) {
    if (exclude.has(pid)) continue;
    const proc = readFacts(fs, procRoot, pid, netnsOf.get(pid) ?? null, places);
    if (proc === undefined) vanished.push(pid);
    else if (options.kinds === true) walks.push({ process: proc, inodes: [], fdNames: [], links: 0, kinds: { socket: 0, pipe: 0, file: 0, anon_inode: 0, other: 0 } });
    else walks.push({ process: proc, inodes: [], fdNames: [], links: 0 });
  }
  options.afterList?.(walks.map((w) => w.process.pid));
  const tFacts = performance.now();

  const kept: Walk[] = [];
  let helped = 0;
  const judged = offer === undefined || early === undefined ? undefined : judgeFirstEarly(reader, walks, offer, first, early);
  try {
    const outcomes = offer === undefined ? undefined : walkShared(fs, reader, walks, offer, () => early?.shared.started() ?? false, first, judged?.between);
    walks.forEach((walk) => {
      let outcome = outcomes?.get(walk);
      if (outcome === undefined) { // not in the walk handed out (listed since): walked here
        outcome = walkFds(fs, reader.root, walk, sizeCounts, reader.link);
        if (early !== undefined) walk.late = early.shared.started();
      }
      if (walk.helped) helped++;
      if (outcome === 'vanished') vanished.push(walk.process.pid);
      else kept.push(walk);
    });
  } finally {
    reader.done(); // back to the caller's directory before the tables: procRoot may be relative
  }

  const tWalk = performance.now();
  const alive = new Set(kept.map((w) => w.process.pid));
  const namespaces: NetnsSummary[] = [];
  const tables = new Map<string, ReadonlySet<number>>();
  const tablesByNetns: Record<string, number> = {};
  const { reads, helped: tablesHelped, reread, lateHeld } = readNamespaces(fs, procRoot, ids, ids.map((id) => membersOf(id, alive)), kept, early);
  ids.forEach((id, i) => {
    const { read, ms: took } = reads[i]!;
    namespaces.push({
      id, processes: members.get(id)!.length, readVia: read?.via ?? null,
      tcpByState: read?.tally.tcpByState ?? {}, rows: read?.tally.rows ?? {},
      timeWait: { count: read?.tally.tcpByState.TIME_WAIT ?? 0, portRange: null, busiestPeer: read?.tally.busiestPeer ?? null },
    });
    if (read !== undefined) tables.set(id, read.tally.inodes);
    tablesByNetns[id] = took;
  });

  const tTables = performance.now();
  let verifyLinks = 0;
  try {
    for (const walk of kept) {
      if (judged?.done.has(walk) === true) continue;
      const p = walk.process;
      // Every socket inode of a late process was looked up in its namespace's read already (readNamespaces: lateHeld), and found.
      if (walk.late === true && p.netns !== null && lateHeld.has(p.netns) && p.sockets !== null) p.orphanSockets = 0;
      else verifyLinks += judgeOrphans(walk, tables, reader);
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
  for (const ns of namespaces) {
    if (ns.readVia === null) warnings.push(`the socket tables of ${ns.id} could not be read: all its processes exited`);
  }
  const tSysctls = performance.now();
  let waited = 0;
  for (const ns of namespaces) {
    const { via, value: pending } = sysctls.get(ns.id) ?? { via: null, value: null };
    const got = pending instanceof Promise ? await pending : pending;
    if (pending instanceof Promise) waited = performance.now() - tSysctls;
    if (got === undefined || got === null) continue;
    // A member that exited since cannot be entered: no word, as for any process that exits mid-scan.
    if ('error' in got) {
      // A member that exited since cannot be entered: no word, as for any process that exits mid-scan.
      if (via === null || !vanished.includes(via)) warnings.push(`ip_local_port_range of ${ns.id} unknown: ${got.error}`);
    }
    else ns.timeWait.portRange = got.ipLocalPortRange;
  }
  const access: Access | null = denied.length === 0 ? null : probeAccess(procRoot, denied[0]!.pid);
  const snapshot: ScanSnapshot = {
    schema: 'fdleak/scan-snapshot@1',
    takenAt,
    processes,
    skipped: { permission: denied.length, vanished: vanished.length },
    skippedProcesses: { permission: denied.map((p) => ({ pid: p.pid, command: p.command })), vanished: vanished.sort((a, b) => a - b) },
    host: { processes: processes.length, fds, fileNr: hostSys.fileNr, nrOpen: hostSys.nrOpen, namespaces },
    access,
    warnings,
  };
  const end = performance.now();
  const walked = options.kinds !== true ? undefined
    : new Map(kept.map((w) => [w.process.pid, { at: w.at ?? Date.parse(takenAt), kinds: w.process.unseen === 'permission' ? null : w.kinds! }]));
  return {
    snapshot,
    ...(walked === undefined ? {} : { walked }),
    timings: {
      durationMs: ms(end - started + earlyMs),
      facts: ms(tFacts - started - firstMs), walk: ms(tWalk - tFacts + firstMs + earlyMs), tables: ms(tTables - tWalk), verify: ms(tVerify - tTables),
      sysctls: ms(waited),
      links: walks.reduce((n, w) => n + w.links, 0), verifyLinks, verifyLinksEarly: judged?.links() ?? 0, helped, tablesHelped, tablesReread: reread, tablesByNetns,
      timeline: {
        handedOut: offer?.handedOut ?? null, began: ms(started), walked: ms(tWalk), tables: ms(tTables), verified: ms(tVerify),
        helper: offer?.shared.times?.().map(ms) ?? null,
      },
    },
  };
}

/**
 * Starts reading each namespace's sysctls: fdleak's own from `procRoot`/sys (what /proc/sys shows
 * it), every other one holding TCP sockets through a member (options.netSysctls; by default
 * nsenter, as root on the live /proc). They run while the fds are walked; the caller awaits them
 * at the end.
 */
function startNetSysctls(
  options: ScanOptions,
  fs: ScanFs,
  procRoot: string,
  members: ReadonlyMap<string, readonly number[]>,
  selfNetns: string | null,
): Map<string, { via: number | null; value: Promise<NetSysctls | { error: string }> | NetSysctls | null }> {
  const out = new Map<string, { via: number | null; value: Promise<NetSysctls | { error: string }> | NetSysctls | null }>();
  const live = procRoot === '/proc' && typeof process.geteuid === 'function' && process.geteuid() === 0;
  const other = options.netSysctls ?? (live ? (path: string) => readNetSysctlsIn(path) : () => null);
  for (const [id, list] of members) {
    if (id === selfNetns) out.set(id, { via: null, value: readNetSysctls(`${procRoot}/sys`) });
    else if (list.length > 0 && holdsTcp(fs, `${procRoot}/${list[0]}/net`)) {
      out.set(id, { via: list[0]!, value: other(`${procRoot}/${list[0]}/ns/net`)?.catch((e: unknown) => ({ error: String(e) })) ?? null });
    }
  }
  return out;
}

/**
 * Whether a namespace holds any TCP socket (in use or TIME_WAIT, IPv4 or IPv6), from its sockstat
 * files: the ephemeral range matters only to TCP connections here, and entering a namespace costs
 * two processes (nsenter, grep; ~3 ms of CPU), so one without TCP is not entered. True when
 * sockstat cannot say.
 */
function holdsTcp(fs: ScanFs, netDir: string): boolean {
  try {
    const v4 = tcpInUse(fs, netDir, new Set(['sockstat']));
    if (v4 === null || v4.v4 + v4.timeWait > 0) return true;
    const v6 = /^TCP6: inuse (\d+)$/m.exec(fs.read(`${netDir}/sockstat6`).toString('latin1'));
    return v6 === null || Number(v6[1]) > 0;
  } catch {
    return true; // exited (the reader will find out), or a kernel without IPv6: cannot tell
  }
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

function isPidName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** stat, limits and location of one process (the parsers diagnose uses), its netns as read before; undefined if it exited. */
function readFacts(fs: ScanFs, procRoot: string, pid: number, netns: string | null, places: Map<string, Location | null>): ProcessStats | undefined {
  const dir = `${procRoot}/${pid}`;
  let stat: { command: string; state: string; startTime: number };
  try {
    stat = parseProcPidStatBytes(fs.read(`${dir}/stat`), `${dir}/stat`);
  } catch (error) {
    if (isVanished(error)) return undefined;
    throw error;
  }
  let fdLimit: ProcessStats['fdLimit'] = null;
  try {
    fdLimit = parseProcPidLimits(fs.read(`${dir}/limits`).toString('latin1'), `${dir}/limits`);
  } catch (error) {
    if (isVanished(error)) return undefined;
    if (!isDenied(error)) throw error;
  }
  return {
    pid, command: stat.command, state: stat.state, startTime: stat.startTime,
    fds: 0, sockets: null, orphanSockets: null, fdLimit, limitUsed: null,
    netns, unseen: null,
    location: locationFromFile(() => fs.read(`${dir}/cgroup`), places),
  };
}
