/**
 * The tests' own reading of /proc and ss, deliberately independent of src/live: the live
 * tests compare fdleak's numbers with these, taken at the same moment from the same namespace.
 * Only what the leakers produce is decoded (IPv4 rows on a little- or big-endian host).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { inNetns } from './netns.js';

/** fd number -> link target of /proc/<pid>/fd. */
export function fdTargets(pid: number, procRoot = '/proc'): Map<number, string> {
  const dir = `${procRoot}/${pid}/fd`;
  const out = new Map<number, string>();
  for (const name of readdirSync(dir)) {
    try {
      out.set(Number(name), readlinkSync(`${dir}/${name}`));
    } catch { /* closed meanwhile */ }
  }
  return out;
}

/** Socket inode -> fd number, from the fd links ("socket:[123]"). */
export function socketFds(pid: number, procRoot = '/proc'): Map<string, number> {
  const out = new Map<string, number>();
  for (const [fd, target] of fdTargets(pid, procRoot)) {
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m !== null) out.set(m[1]!, fd);
  }
  return out;
}

const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '06': 'TIME_WAIT',
  '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING',
};

export interface TcpRow {
  state: string;
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  rxQueue: number;
  inode: string;
}

function ipv4(hex: string): string {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return (endianness() === 'LE' ? bytes.reverse() : bytes).join('.');
}

/**
 * Rows of /proc/<pid>/net/tcp and tcp6: the tables of the process's own network namespace. IPv4
 * addresses are decoded; IPv6 ones are kept as "v6:<hex>" (the leakers use IPv4 only).
 */
export function tcpRows(pid: number, procRoot = '/proc'): TcpRow[] {
  const lines = ['tcp', 'tcp6'].flatMap((t) => {
    try {
      return readFileSync(`${procRoot}/${pid}/net/${t}`, 'latin1').split('\n').slice(1);
    } catch {
      return [];
    }
  });
  const addr = (hex: string): string => (hex.length === 8 ? ipv4(hex) : `v6:${hex}`);
  return lines.filter((l) => l.trim() !== '').map((l) => {
    const c = l.trim().split(/\s+/);
    const [la, lp] = c[1]!.split(':') as [string, string];
    const [ra, rp] = c[2]!.split(':') as [string, string];
    return {
      state: TCP_STATES[c[3]!] ?? c[3]!, local: addr(la), localPort: parseInt(lp, 16), remote: addr(ra),
      remotePort: parseInt(rp, 16), rxQueue: parseInt(c[4]!.split(':')[1]!, 16), inode: c[9]!,
    };
  });
}

/** Column of the inode in each /proc/net table (negative: from the end). */
const INODE_COLUMN: Record<string, number> = {
  tcp: 9, tcp6: 9, udp: 9, udp6: 9, udplite: 9, udplite6: 9, raw: 9, raw6: 9, icmp: 9, icmp6: 9,
  unix: 6, netlink: -1, packet: -1,
};

/** Every inode listed in any socket table of the process's network namespace. */
export function tableInodes(pid: number, procRoot = '/proc'): Set<string> {
  return tableInodesIn(`${procRoot}/${pid}/net`);
}

/** Same, for a /proc/net-like directory (e.g. "/proc/self/net": the test's own namespace). */
export function tableInodesIn(netDir: string): Set<string> {
  const out = new Set<string>();
  for (const [table, col] of Object.entries(INODE_COLUMN)) {
    let text: string;
    try {
      text = readFileSync(`${netDir}/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 3) continue;
      const inode = col < 0 ? c[c.length + col]! : c[col]!;
      if (inode !== '0') out.add(inode);
    }
  }
  return out;
}

/** Open fds and the soft/hard RLIMIT_NOFILE of a process. */
export function fdUsage(pid: number): { open: number; soft: number; hard: number } {
  const row = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = row.slice('Max open files'.length).trim().split(/\s+/).map(Number) as [number, number];
  return { open: readdirSync(`/proc/${pid}/fd`).length, soft, hard };
}

export interface SsRow {
  state: string;
  recvQ: number;
  sendQ: number;
  local: string;
  peer: string;
  pids: number[];
  inode: string | null;
}

/** `ss -H -t -n -p -e -a` (or `-l` for listeners) inside the process's network namespace, parsed. */
export function ssTcp(pid: number, which: '-a' | '-l' = '-a'): SsRow[] {
  const text = inNetns(pid, 'ss', ['-H', '-t', '-n', '-p', '-e', which]);
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('\t')).map((l) => {
    const t = l.trim().split(/\s+/);
    return {
      state: t[0]!, recvQ: Number(t[1]), sendQ: Number(t[2]), local: t[3]!, peer: t[4]!,
      pids: [...l.matchAll(/pid=(\d+),fd=\d+/g)].map((m) => Number(m[1])),
      inode: /\bino:(\d+)/.exec(l)?.[1] ?? null,
    };
  });
}

/** A per-namespace sysctl as the process's namespace sees it, e.g. "net/ipv4/ip_local_port_range". */
export function netnsSysctl(pid: number, name: string): string {
  return inNetns(pid, 'cat', [`/proc/sys/${name}`]).trim();
}

/** Counts by key, ranked by count descending then key: how fdleak's evidence is ordered. */
export function rankedCounts<T>(items: T[], key: (t: T) => string): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** "3-5, 9" -> [3, 4, 5, 9] (fdleak's compact fd lists). */
export function expandFdList(text: string): number[] {
  return text.split(', ').flatMap((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}
