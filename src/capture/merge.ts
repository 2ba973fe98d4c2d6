/**
 * Several captures of one moment (an lsof and an ss, say) as one set of socket rows: a socket two
 * inputs list is one row, its fields filled from either, its owners from both.
 */
import type { Fd } from '../model/fd.js';
import { isWildcard } from '../model/queries.js';
import type { Owner, Socket } from '../model/socket.js';
import { formatEndpoint } from '../util/format.js';

/** Socket fds by pid and fd number. */
export type SocketFds = Map<number, Map<number, Fd>>;

/**
 * One row per socket across inputs: by inode where known (lsof DEVICE, ss ino:, /proc inode), else
 * by an owner's fd resolved through the lsof fd table, else by protocol, state and both endpoints.
 */
export function mergeSockets(rows: Socket[], socketFds: SocketFds): Socket[] {
  const byInode = new Map<string | number, Socket>();
  // An inode keyed as the number it is (cheaper to hash), unless its text is not the number's own.
  const inodeKey = (inode: string): string | number => (inode.length < 16 && (inode.length === 1 || inode.charCodeAt(0) !== 48) && /^\d+$/.test(inode) ? Number(inode) : inode);
  const byTuple = new Map<string, Socket[]>();
  const matched = new Map<Socket, Set<string>>(); // sources already merged into a row
  const out: Socket[] = [];
  // /proc/net gives a listener the remote 0.0.0.0:0 where ss and lsof give none: the same thing.
  const remoteOf = (r: Socket): string => (r.remote === null || (r.remote.port === 0 && isWildcard(r.remote.address)) ? '-' : formatEndpoint(r.remote));
  const tupleOf = (r: Socket): string => `${r.proto}|${r.state ?? r.detail}|${formatEndpoint(r.local)}|${remoteOf(r)}`;
  // A row with the same tuple from ANOTHER input, not yet matched by this input.
  const tupled = (r: Socket): boolean => r.family === 'inet' || r.family === 'inet6';
  const partner = (row: Socket, wantInode: boolean): Socket | undefined =>
    !tupled(row) ? undefined : byTuple.get(tupleOf(row))?.find((r) => r.origin.source !== row.origin.source && !matched.get(r)?.has(row.origin.source) && (!wantInode || r.inode === null));
  // Rows of one input are merged by inode only: a partner by tuple comes from another input.
  const sources = new Set<string>();
  for (const row of rows) sources.add(row.origin.source);
  const byTuples = sources.size > 1;
  // The inode of an owner's fd: its record, else a row that names that owner with its inode (the
  // lsof reader keeps no record of a socket fd whose row says both: parse/lsof/reader.ts rowless).
  let ownerInodes: Map<number, Map<number, string>> | null = null;
  const inodeOfFd = (pid: number, fd: number): string | null | undefined => {
    const found = socketFds.get(pid)?.get(fd)?.inode;
    if (found) return found;
    ownerInodes ??= ownerInodeIndex(rows);
    return ownerInodes.get(pid)?.get(fd);
  };
  for (const row of rows) {
    if (row.inode === null) {
      for (const o of row.owners) {
        const inode = o.fd === null ? undefined : inodeOfFd(o.pid, o.fd);
        if (inode) { row.inode = inode; break; }
      }
    }
    const inode = row.inode !== null && row.inode !== '0' ? inodeKey(row.inode) : null;
    const existing = (inode === null ? undefined : byInode.get(inode)) ?? (byTuples ? partner(row, inode !== null) : undefined);
    if (existing !== undefined) {
      mergeInto(existing, row);
      if (inode !== null) byInode.set(inode, existing);
      const set = matched.get(existing) ?? new Set<string>();
      set.add(row.origin.source);
      matched.set(existing, set);
      continue;
    }
    if (inode !== null) byInode.set(inode, row);
    out.push(row);
    if (!byTuples || !tupled(row)) continue;
    const t = tupleOf(row);
    const list = byTuple.get(t);
    if (list === undefined) byTuple.set(t, [row]);
    else list.push(row);
  }
  return out;
}

/** (pid, fd) -> inode, from the rows that name an owner's fd and their inode. */
function ownerInodeIndex(rows: readonly Socket[]): Map<number, Map<number, string>> {
  const index = new Map<number, Map<number, string>>();
  for (const row of rows) {
    if (row.inode === null || row.inode === '0') continue;
    for (const o of row.owners) {
      if (o.fd === null) continue;
      let fds = index.get(o.pid);
      if (fds === undefined) index.set(o.pid, (fds = new Map()));
      if (!fds.has(o.fd)) fds.set(o.fd, row.inode);
    }
  }
  return index;
}

function mergeInto(into: Socket, from: Socket): void {
  into.state ??= from.state;
  into.detail ??= from.detail;
  into.local ??= from.local;
  into.remote ??= from.remote;
  into.rxQueue ??= from.rxQueue;
  into.txQueue ??= from.txQueue;
  into.backlog ??= from.backlog;
  into.uid ??= from.uid;
  if (into.inode === null || into.inode === '0') into.inode = from.inode ?? into.inode;
  const seen = new Set(into.owners.map((o) => `${o.pid}:${o.fd ?? ''}`));
  for (const o of from.owners) {
    const k = `${o.pid}:${o.fd ?? ''}`;
    if (seen.has(k)) continue;
    // An owner without fd (netstat) adds nothing if the pid is already known with an fd.
    if (o.fd === null && into.owners.some((x) => x.pid === o.pid)) continue;
    into.owners = into.owners.filter((x: Owner) => !(x.pid === o.pid && x.fd === null));
    into.owners.push(o);
    seen.add(k);
  }
}
