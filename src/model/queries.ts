import type { Fd } from './fd.js';
import { foldOf } from './folded.js';
import type { FoldedSockets } from './folded.js';
import type { Process } from './process.js';
import type { ProcessStats, ScanSort } from './scan.js';
import type { Snapshot } from './snapshot.js';
import type { Socket } from './socket.js';

/**
 * Sockets each process owns (a socket shared after fork counts for every owner). Built once per
 * snapshot (three rules ask; ~4 ms each over a 15,000-fd process's rows); callers never change it.
 */
export function socketsByOwner(snapshot: Snapshot): Map<number, Socket[]> {
  let out = ownersIndexes.get(snapshot);
  if (out !== undefined) return out;
  out = new Map<number, Socket[]>();
  ownersIndexes.set(snapshot, out);
  for (const s of snapshot.sockets) {
    for (const o of s.owners) {
      const list = out.get(o.pid);
      if (list === undefined) out.set(o.pid, [s]);
      else if (list[list.length - 1] !== s) list.push(s);
    }
  }
  return out;
}

const ownersIndexes = new WeakMap<Snapshot, Map<number, Socket[]>>();

/** Rows of a process's network namespace (all rows when namespaces are unknown). */
export function rowsOfNetns(snapshot: Snapshot, netns: string | null): Socket[] {
  if (netns === null || snapshot.namespaces.every((n) => n.id === null)) return snapshot.sockets;
  return snapshot.sockets.filter((s) => s.netns === netns || s.netns === null);
}

/**
 * The rows of `rows` in `state`, in their order (what rows.filter on that state gives), from one
 * pass that files every row under its state, kept beside the array (rows arrays are never changed;
 * callers never change what this returns). Five rules each filtered the same 12,500 rows of a
 * 15,000-fd diagnose for one state (LISTEN, CLOSE_WAIT, FIN_WAIT2, TIME_WAIT), cold, a pass each.
 */
export function rowsInState(rows: readonly Socket[], state: Socket['state']): readonly Socket[] {
  let byState = stateIndexes.get(rows);
  if (byState === undefined) {
    byState = new Map();
    for (let i = 0; i < rows.length; i++) { // indexed: cold, once over every row, where for-of costs more
      const s = rows[i]!;
      const list = byState.get(s.state);
      if (list === undefined) byState.set(s.state, [s]);
      else list.push(s);
    }
    stateIndexes.set(rows, byState);
  }
  return byState.get(state) ?? [];
}
const stateIndexes = new WeakMap<readonly Socket[], Map<Socket['state'], Socket[]>>();

/** The ip_local_port_range of a namespace, if read. */
export function portRangeOf(snapshot: Snapshot, netns: string | null): [number, number] | null {
  const ns = snapshot.namespaces.find((n) => n.id === netns) ?? snapshot.namespaces[0];
  return ns?.sysctls.ipLocalPortRange ?? null;
}

/**
 * No fd refers to the row (TIME_WAIT, orphaned FIN_WAIT2, unaccepted child): inode 0 in /proc/net
 * and ss -e; in a listing without inodes (ss -tanp, netstat -anp), a row with no owner.
 */
export function isOwnerless(s: Socket): boolean {
  return s.inode === '0' || (s.inode === null && s.owners.length === 0);
}

/**
 * Whether a local port is a listener's by the rows' own shape, for data without LISTEN rows (a grep
 * for CLOSE_WAIT drops them): a local port shared by at least `min` rows whose peers are all
 * distinct and on ephemeral ports (inside `range` when known, else 1024 and up). A client's
 * connections never share a local port (connect() picks a new one each time), so they never
 * qualify. A lookup that judges a port only when asked, once: the rules ask only
 * about ports that no LISTEN row explains. Measured on a diagnose of a 15,000-fd process whose
 * 11,500 connections share its listener's port: building the whole set (a peer key per row) cost
 * 15-17 ms in each of close-wait, fin-wait2 and time-wait, where none of them needed it. One lookup
 * per rows array, min and range, shared by the rules (rows arrays are never changed).
 */
export function inferredListenPort(rows: readonly Socket[], min: number, range: [number, number] | null): (port: number | null | undefined) => boolean {
  let byKey = listenerLookups.get(rows);
  if (byKey === undefined) listenerLookups.set(rows, (byKey = new Map()));
  const key = `${min} ${range?.join('-') ?? ''}`;
  const known = byKey.get(key);
  if (known !== undefined) return known;
  let byPort: Map<number, Socket[]> | undefined; // built on the first question
  const verdicts = new Map<number, boolean>();
  const lookup = (port: number | null | undefined): boolean => {
    if (port == null) return false;
    let verdict = verdicts.get(port);
    if (verdict === undefined) {
      byPort ??= rowsByLocalPort(rows);
      const list = byPort.get(port);
      verdicts.set(port, (verdict = list !== undefined && listenerShaped(list, min, range)));
    }
    return verdict;
  };
  byKey.set(key, lookup);
  return lookup;
}
const listenerLookups = new WeakMap<readonly Socket[], Map<string, (port: number | null | undefined) => boolean>>();

/** The TCP rows that could share a listener's local port (not LISTEN, both ports known), by local port. */
function rowsByLocalPort(rows: readonly Socket[]): Map<number, Socket[]> {
  const byPort = new Map<number, Socket[]>();
  for (const s of rows) {
    if (s.proto !== 'tcp' || s.state === 'LISTEN' || s.local?.port == null || s.remote?.port == null) continue;
    const list = byPort.get(s.local.port);
    if (list === undefined) byPort.set(s.local.port, [s]);
    else list.push(s);
  }
  return byPort;
}

/** Rows of one local port: at least `min`, their peers all distinct and on ephemeral ports. */
function listenerShaped(list: readonly Socket[], min: number, range: [number, number] | null): boolean {
  if (list.length < min) return false;
  const ephemeral = (port: number): boolean => (range === null ? port >= 1024 : port >= range[0] && port <= range[1]);
  const peers = new Set(list.map((s) => `${s.remote!.address}|${s.remote!.port}`));
  return peers.size === list.length && list.every((s) => ephemeral(s.remote!.port!));
}

/** Rows of captured text that name no owner but are held by an fd (inode unknown or not 0): someone's, not the kernel's alone. */
export function isUnnamedOwner(s: Socket): boolean {
  return s.owners.length === 0 && s.inode !== '0';
}

/** An fd lsof listed as TYPE `sock`: a socket it found in no /proc/net table of its own network namespace. */
export function isLsofSockRow(fd: Pick<Fd, 'kind' | 'target'>): boolean {
  return fd.kind === 'socket' && isLsofSockTarget(fd.target);
}

/** Is `target` what lsof names a socket in none of its tables ("protocol: TCP", "can't identify protocol")? */
export function isLsofSockTarget(target: string): boolean {
  return /^(?:protocol: |can't identify protocol)/.test(target);
}

/** Is `address` a wildcard listening address? */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*';
}

/** Does a LISTEN socket's local endpoint accept connections addressed to `local`? */
export function listenerCovers(listener: Socket, local: Socket['local']): boolean {
  if (listener.local === null || local === null || listener.local.port !== local.port) return false;
  if (isWildcard(listener.local.address)) return true;
  const strip = (a: string): string => (a.startsWith('::ffff:') ? a.slice(7) : a);
  return strip(listener.local.address) === strip(local.address);
}

/**
 * The namespaces a rule should judge, each with its rows and its processes. Captures without
 * namespace ids form one group (null); a live snapshot has one group per namespace read.
 */
export function namespaceGroups(snapshot: Snapshot): ReadonlyArray<NamespaceGroup> {
  // Once per snapshot: every rule asks, and each filter walks every row (26,000 in a crowded host
  // namespace: ~50 ms of a diagnose when each rule filtered again). Rules never change the arrays.
  const known = groupsOf.get(snapshot);
  if (known !== undefined) return known;
  const ids = snapshot.namespaces.length > 0 ? snapshot.namespaces.map((n) => n.id) : [null];
  const groups = [...new Set(ids)].map((netns) => ({
    netns,
    rows: rowsOfNetns(snapshot, netns),
    processes: netns === null ? snapshot.processes : snapshot.processes.filter((p) => p.netns === netns),
  }));
  groupsOf.set(snapshot, groups);
  return groups;
}

interface NamespaceGroup { netns: string | null; rows: Socket[]; processes: Process[] }
const groupsOf = new WeakMap<Snapshot, ReadonlyArray<NamespaceGroup>>();

/**
 * The process a namespace-wide finding belongs to: the only process whose fd table was read, else
 * the one that owns a socket matching `touches`, else null (the rows have no owner left; a process
 * known only as the owner of a row in ss or netstat is not the subject of the capture).
 */
export function attribute(processes: Process[], owned: Map<number, Socket[]>, touches: (s: Socket) => boolean): number | null {
  // A live diagnosis reads one process, whose fd table is the subject (fdKinds from the fd table).
  if (processes.length === 1 && processes[0]!.fdKinds !== null) return processes[0]!.pid;
  // A capture of one process's fd table (lsof -p PID) beside a whole-namespace listing (ss -tanp)
  // is about that process, as a live diagnosis is.
  const subjects = processes.filter((p) => p.fdTableComplete);
  if (subjects.length === 1 && processes.every((p) => p.fdTableComplete || p.fdKinds === null)) return subjects[0]!.pid;
  let best: { pid: number; n: number } | null = null;
  for (const p of processes) {
    const n = (owned.get(p.pid) ?? []).filter(touches).length;
    if (n > 0 && (best === null || n > best.n)) best = { pid: p.pid, n };
  }
  return best?.pid ?? null;
}

/**
 * The orphan test, written once (scan, the orphan-sockets rule and the diagnose/analyze summaries
 * all ask it): a socket fd of a process in network namespace `netns` is an orphan when its inode
 * is in no table of that namespace, nor in a table whose namespace is unknown ("" in `tables`).
 * `netns` null (captured text, an unreadable ns link): any namespace's table will do.
 * `tables`: the inodes of each namespace's rows (tableInodes(), or scan's own tally).
 */
export function isOrphanSocket<K>(tables: ReadonlyMap<string, ReadonlySet<K>>, netns: string | null, inode: K): boolean {
  if (netns === null) {
    for (const rows of tables.values()) if (rows.has(inode)) return false;
    return true;
  }
  return !(tables.get(netns)?.has(inode) === true || tables.get('')?.has(inode) === true);
}

const inodeIndexes = new WeakMap<Snapshot, Map<string, Set<string>>>();

/** The inodes of a snapshot's socket rows by namespace ("" where the row's namespace is unknown), for isOrphanSocket. Built once per snapshot. */
export function tableInodes(snapshot: Snapshot): Map<string, Set<string>> {
  let index = inodeIndexes.get(snapshot);
  if (index !== undefined) return index;
  index = new Map();
  const sockets = snapshot.sockets;
  for (let i = 0; i < sockets.length; i++) { // indexed: cold, once over every row, where for-of costs more
    const { inode, netns } = sockets[i]!;
    if (inode === null) continue;
    const key = netns ?? '';
    let rows = index.get(key);
    if (rows === undefined) index.set(key, (rows = new Set()));
    rows.add(inode);
  }
  inodeIndexes.set(snapshot, index);
  return index;
}

/** The namespace a process's fds are judged in: its own when the snapshot knows namespaces, else null (any table). */
export function judgedNetns(snapshot: Snapshot, process: Pick<Process, 'netns'> | undefined): string | null {
  return snapshot.coverage.netnsAware ? (process?.netns ?? null) : null;
}

/**
 * Items ranked worst first: `key` descending (null last), ties to the larger `size` (null last),
 * then the lower pid. Scan ranks by its --sort key and fds; analyze by its worst finding and fds.
 */
export function rankProcesses<T extends { pid: number }>(items: readonly T[], key: (t: T) => number | null, size: (t: T) => number | null): T[] {
  return [...items].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) {
      if (ka === null) return 1;
      if (kb === null) return -1;
      return kb - ka;
    }
    return (size(b) ?? -1) - (size(a) ?? -1) || a.pid - b.pid;
  });
}

/** The value a scan --sort key ranks by (higher is worse; null ranks last), for rankProcesses; growth per second comes from `scan --sample`. */
export function scanSortKey(sort: ScanSort, growth?: (p: ProcessStats) => number | null): (p: ProcessStats) => number | null {
  switch (sort) {
    case 'growth': return growth ?? (() => null);
    case 'fds': return (p) => p.fds;
    case 'sockets': return (p) => p.sockets;
    case 'orphans': return (p) => p.orphanSockets;
    case 'headroom': return (p) => p.limitUsed;
  }
}

/** Socket rows of a snapshot, the rows a large capture folded into counts included (model/folded.ts). */
export function socketRowCount(snapshot: Snapshot): number {
  return snapshot.sockets.length + (foldOf(snapshot)?.rows ?? 0);
}

/** Processes that own a socket row, a folded one included. */
export function socketOwnerPids(snapshot: Snapshot): Set<number> {
  const pids = new Set<number>();
  for (const s of snapshot.sockets) for (const o of s.owners) pids.add(o.pid);
  const fold = foldOf(snapshot);
  if (fold !== undefined) for (const p of snapshot.processes) if (fold.statesOf(p.pid) !== undefined) pids.add(p.pid);
  return pids;
}

/** inferredListenPort() of a namespace's rows, over the rows a large capture folded too. */
export function listenPortsByShape(snapshot: Snapshot, rows: readonly Socket[], min: number, range: [number, number] | null): (port: number | null | undefined) => boolean {
  const fold = foldOf(snapshot);
  if (fold === undefined) return inferredListenPort(rows, min, range);
  const ports = fold.inferredListenPorts(min, range);
  return (port) => port !== null && port !== undefined && ports.has(port);
}

/**
 * The sockets each process owns that a rule about CLOSE_WAIT must see: its records, and the fold
 * that holds its folded CLOSE_WAIT rows (closeWaitOf, closeWaitGroups), if the capture folded.
 */
export function closeWaitCandidates(snapshot: Snapshot): Array<[number, Socket[], FoldedSockets | undefined]> {
  const owned = socketsByOwner(snapshot);
  const fold = foldOf(snapshot);
  if (fold === undefined) return [...owned].map(([pid, sockets]) => [pid, sockets, undefined]);
  const pids = new Set([...owned.keys(), ...fold.closeWaitOwners()]);
  return [...pids].map((pid) => [pid, owned.get(pid) ?? [], fold]);
}

/** The CLOSE_WAIT rows of a namespace by their own (local|remote) key (rules/halves.ts rowsByTuple), folded ones whose key is asked for included. */
export function closeWaitByKey(snapshot: Snapshot, rows: readonly Socket[], wanted: ReadonlySet<string>, keyOf: (s: Socket) => string): Map<string, Socket> {
  const out = new Map<string, Socket>();
  for (const s of rows) if (s.state === 'CLOSE_WAIT') out.set(keyOf(s), s);
  const fold = foldOf(snapshot);
  if (fold !== undefined && wanted.size > 0) for (const s of fold.closeWaitByKey(wanted)) if (!out.has(keyOf(s))) out.set(keyOf(s), s);
  return out;
}

/** The orphan socket fds of one process (orphanSocketFds). */
export interface OrphanFds {
  count: number;
  /** Those with an inode (the ones a summary counts: without one, only lsof's reading says it). */
  withInode: number;
  /** Whether every one is an lsof sock row. */
  allSockRows: boolean;
  /** fd numbers by hint ("unknown" without one), in the order read. */
  byHint: Map<string, number[]>;
}

const orphanIndexes = new WeakMap<Snapshot, Map<number, OrphanFds>>();

/**
 * Hands orphanSocketFds its answer for a live snapshot of process `pid`, from a reader that judged
 * the process's socket fds against the tables itself (live/diagnose.ts): `orphans`, its socket fds
 * with an inode in no row of the tables (the snapshot keeps every row holding one of its inodes, so
 * this is isOrphanSocket's verdict), in the order of snapshot.fds, their hints set. What
 * orphanSocketFds would build from the snapshot, without building it: measured per rule, cold, on a
 * 15,000-fd process with 12,500 rows of its own (3 runs, load ~6): the orphan-sockets rule took 8-12
 * ms, nearly all of it tableInodes' set of every row's inode and a pass over every fd.
 */
export function knownOrphans(snapshot: Snapshot, pid: number, orphans: readonly Fd[]): void {
  const byPid = new Map<number, OrphanFds>();
  const add = orphanAdder(byPid);
  for (const fd of orphans) add(pid, fd.fd, true, fd.hint, isLsofSockRow(fd));
  orphanIndexes.set(snapshot, byPid);
}

/**
 * One orphan socket fd of `pid` counted into `byPid` (orphanSocketFds's index, knownOrphans's).
 * Orphans come pid by pid, in runs of one hint: the last process's entry and the last hint's list
 * are taken again without a Map lookup (two lookups an fd otherwise: ~132,000 fds of the 1M-line
 * socket-heavy capture).
 */
function orphanAdder(byPid: Map<number, OrphanFds>): (pid: number, fd: number, withInode: boolean, hint: string | null, sockRow: boolean) => void {
  let lastPid = Number.NaN;
  let o: OrphanFds | undefined;
  let lastKey: string | null = null;
  let list: number[] | undefined;
  return (pid, fd, withInode, hint, sockRow) => {
    if (pid !== lastPid) {
      o = byPid.get(pid);
      if (o === undefined) byPid.set(pid, (o = { count: 0, withInode: 0, allSockRows: true, byHint: new Map() }));
      lastPid = pid;
      lastKey = null;
    }
    o!.count++;
    if (withInode) o!.withInode++;
    if (!sockRow) o!.allSockRows = false;
    const key = hint ?? 'unknown';
    if (key !== lastKey) {
      list = o!.byHint.get(key);
      if (list === undefined) o!.byHint.set(key, (list = []));
      lastKey = key;
    }
    list!.push(fd);
  };
}

/**
 * Socket fds in no socket table of the process's network namespace (isOrphanSocket), or without an
 * inode and lsof's sock reading (isLsofSockRow), by pid ascending: records and folded fds alike.
 * Built once per snapshot.
 */
export function orphanSocketFds(snapshot: Snapshot): Map<number, OrphanFds> {
  const known = orphanIndexes.get(snapshot);
  if (known !== undefined) return known;
  const tables = tableInodes(snapshot);
  // The namespace each process's fds are judged in, once per process rather than once per fd.
  const netnsOf = new Map(snapshot.processes.map((p) => [p.pid, judgedNetns(snapshot, p)]));
  const byPid = new Map<number, OrphanFds>();
  const add = orphanAdder(byPid);
  const fds = snapshot.fds;
  // The namespace of the previous fd's pid: fds come pid by pid, so two Map lookups per fd become
  // one per pid (a 15,000-fd diagnose under --cpu-prof, 3 runs: isOrphanSocket's share 5 ms instead of 9).
  let lastPid = Number.NaN;
  let netns: string | null = null;
  // With a namespace, the tables isOrphanSocket asks, once per pid too (two Map lookups per fd
  // fewer): the namespace's own and that of rows whose namespace is unknown.
  let own: ReadonlySet<string> | undefined;
  const unknown = tables.get('');
  // Indexed loop: this runs cold, once, over every fd of the snapshot, where for-of costs more.
  for (let i = 0; i < fds.length; i++) {
    const fd = fds[i]!;
    if (fd.kind !== 'socket') continue;
    if (fd.pid !== lastPid) {
      lastPid = fd.pid;
      netns = netnsOf.has(fd.pid) ? netnsOf.get(fd.pid)! : judgedNetns(snapshot, undefined);
      own = netns === null ? undefined : tables.get(netns);
    }
    const inode = fd.inode;
    // Without an inode (lsof -F without "i"), lsof's own reading: a sock row is in none of its tables.
    const orphan = inode === null ? isLsofSockRow(fd)
      : netns === null ? isOrphanSocket(tables, null, inode)
      : !(own?.has(inode) === true || unknown?.has(inode) === true); // isOrphanSocket(tables, netns, inode)
    if (orphan) {
      add(fd.pid, fd.fd, fd.inode !== null, fd.hint, isLsofSockRow(fd));
    }
  }
  // A folded capture is text: no namespace is known, any table will do.
  foldOf(snapshot)?.forEachOrphanFd(tables, add);
  const sorted = new Map([...byPid].sort((a, b) => a[0] - b[0]));
  orphanIndexes.set(snapshot, sorted);
  return sorted;
}
