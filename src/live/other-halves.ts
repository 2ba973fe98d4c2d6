/**
 * The other end of the diagnosed process's half-closed connections, when it is in the same network
 * namespace: the CLOSE_WAIT rows of whoever never closed the connections whose FIN_WAIT2 rows are
 * here (orphaned ones, inode 0, or the process's own), and the FIN_WAIT2 rows held by others opposite
 * the process's own CLOSE_WAIT. Live diagnose keeps only the process's own rows and ownerless ones;
 * this adds those few rows back with their owners, so the fin-wait2 and close-wait rules can join
 * the two halves ("the other half of the 120 CLOSE_WAIT held by pid 4242 (python3)").
 *
 * Runs only when there is something to join. The owners are found as ss -p does: the fd links of
 * the processes in the same namespace, stopping once every wanted inode is found.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Socket } from '../model/socket.js';
import { parseProcNetInet, readProcNetText } from '../parse/proc-net-inet.js';
import { utf8Escaped } from '../util/safe-text.js';
import { HALF_CLOSED_CODES } from './own-rows.js';

const key = (s: Socket, reversed: boolean): string => {
  const text = (e: Socket['local']): string => (e === null ? '-' : `${e.address.startsWith('::ffff:') ? e.address.slice(7) : e.address}:${e.port}`);
  return reversed ? `${text(s.remote)}|${text(s.local)}` : `${text(s.local)}|${text(s.remote)}`;
};

/**
 * Rows of others opposite `pid`'s half-closed rows among `sockets`, with owners where readable.
 * `candidates`: the FIN_WAIT2 and CLOSE_WAIT rows of others (an inode not 0 that is not in
 * `sockets`) that diagnose parsed in its one pass over the tables (readNetTables); without them,
 * the tcp and tcp6 tables are read and those rows parsed here.
 */
export function readOtherHalves(
  procRoot: string,
  pid: number,
  netns: string | null,
  sockets: readonly Socket[],
  candidates?: readonly Socket[],
): Socket[] {
  // No candidate, nothing to look for (measured: building `want` and `have` over the 12,500 rows
  // of a 15,000-fd process cost 10-14 ms, for none of them).
  if (candidates?.length === 0) return [];
  const mine = (s: Socket): boolean => s.owners.some((o) => o.pid === pid);
  const want = new Map<string, 'CLOSE_WAIT' | 'FIN_WAIT2'>();
  for (const s of sockets) {
    if (s.state === 'FIN_WAIT2' && (s.inode === '0' || mine(s))) want.set(key(s, true), 'CLOSE_WAIT');
    else if (s.state === 'CLOSE_WAIT' && mine(s)) want.set(key(s, true), 'FIN_WAIT2');
  }
  if (want.size === 0) return [];
  const have = new Set(sockets.map((s) => s.inode));
  const found: Socket[] = [];
  for (const row of candidates ?? readHalfClosed(procRoot, pid, netns, have)) {
    if (row.inode === '0' || have.has(row.inode)) continue; // ownerless rows are in already
    if (row.state !== null && want.get(key(row, false)) === row.state) found.push(row);
  }
  if (found.length > 0) addOwners(procRoot, pid, netns, found);
  return found;
}

/**
 * The FIN_WAIT2 and CLOSE_WAIT rows of others in `pid`'s tcp and tcp6 tables, read now: only those
 * rows are parsed, the others passed over on their st and inode columns (parseProcNetInet's keep).
 */
function readHalfClosed(procRoot: string, pid: number, netns: string | null, have: ReadonlySet<string | null>): Socket[] {
  const rows: Socket[] = [];
  const keep = (inode: string, st: string): boolean => inode !== '0' && HALF_CLOSED_CODES.has(st) && !have.has(inode);
  for (const table of ['tcp', 'tcp6'] as const) {
    const path = `${procRoot}/${pid}/net/${table}`;
    const text = readProcNetText(path);
    if (text !== null) for (const row of parseProcNetInet(text, path, table, netns, undefined, undefined, keep)) rows.push(row);
  }
  return rows;
}

/** Fills the owners of `rows` from the fd links of the processes in namespace `netns`. */
function addOwners(procRoot: string, self: number, netns: string | null, rows: Socket[]): void {
  const byInode = new Map(rows.map((r) => [`socket:[${r.inode}]`, r]));
  let left = byInode.size;
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((n) => /^\d+$/.test(n) && Number(n) !== self);
  } catch {
    return;
  }
  for (const p of pids) {
    if (left === 0) return;
    try {
      if (netns !== null && readlinkSync(`${procRoot}/${p}/ns/net`) !== netns) continue;
      const dir = `${procRoot}/${p}/fd`;
      let command: string | null = null;
      for (const fd of readdirSync(dir)) {
        let target: string;
        try {
          target = readlinkSync(`${dir}/${fd}`);
        } catch {
          continue; // closed meanwhile
        }
        const row = byInode.get(target);
        if (row === undefined) continue;
        command ??= readComm(procRoot, p);
        if (row.owners.length === 0) left--;
        row.owners.push({ pid: Number(p), fd: Number(fd), command });
      }
    } catch {
      // gone, or not ours to read: its rows keep no owner
    }
  }
}

/** /proc/<pid>/comm as UTF-8 (invalid bytes escaped), without its newline. */
function readComm(procRoot: string, pid: string): string | null {
  try {
    return utf8Escaped(readFileSync(`${procRoot}/${pid}/comm`)).replace(/\n$/, '');
  } catch {
    return null;
  }
}
