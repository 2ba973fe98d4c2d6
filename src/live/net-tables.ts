/**
 * The socket tables of one network namespace as `fdleak scan` counts them, read through a member:
 * /proc/<pid>/net/{tcp,tcp6,udp,...,unix,netlink,packet} tallied by parse/proc-net-tally.ts, after
 * sockstat and sockstat6 (a TCP table they show empty is not read: isEmptyTcp). Used by the main
 * thread (live/scan.ts) and by the helper thread (threads/scan-worker.ts), which reads the tables of
 * some namespaces while the main thread reads the others; so node: built-ins only, no zod.
 */
import { isDenied } from '../errors.js';
import type { TableSpec, TallyResult } from '../parse/proc-net-tally.js';
import { NetTally, TALLY_TABLES } from '../parse/proc-net-tally.js';
import type { ScanFs } from './fd-walk.js';
import { isVanished } from './fd-walk.js';
import type { TcpInUse } from './sockstat.js';
import { parseSockstat } from './sockstat.js';

/** Reads the tables of a namespace through the first member still alive; undefined if none is. */
export function readNamespace(fs: ScanFs, procRoot: string, members: ReadonlyArray<number | 'self'>): { via: number | 'self'; tally: TallyResult } | undefined {
  for (const pid of members) {
    try {
      return { via: pid, tally: readTables(fs, `${procRoot}/${pid}/net`) };
    } catch (error) {
      if (isVanished(error) || isDenied(error)) continue; // that member exited (or is a zombie): try the next
      throw error;
    }
  }
  return undefined;
}

/** Throws ENOENT if the member exits before or during the read: the caller tries the next one. */
function readTables(fs: ScanFs, netDir: string): TallyResult {
  // A table the kernel lacks (no IPv6, no udplite) is absent from the listing; a listed one that
  // turns ENOENT means the member exited mid-read, and a partial read would invent orphans.
  const present = new Set(fs.list(netDir));
  const tcp = tcpInUse(fs, netDir, present);
  // Sized for the TCP rows sockstat counts (the bulk of a busy namespace), so its inode set need not grow.
  const tally = new NetTally(undefined, tcp === null ? 0 : tcp.v4 + (tcp.v6 ?? 0) + tcp.timeWait);
  for (const table of TALLY_TABLES) {
    if (!present.has(table.file)) continue;
    if (tcp !== null && isEmptyTcp(table, tcp, tally)) tally.none(table.family);
    else {
      const path = `${netDir}/${table.file}`;
      const each = tally.table(path, table);
      // In pieces: a 5 MB host tcp table then touches 64 KiB of fresh memory, not 5 MB (util/proc-file.ts).
      if (fs.pieces !== undefined) fs.pieces(path, each);
      else each(fs.read(path));
    }
  }
  return tally.result();
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
export function tcpInUse(fs: ScanFs, netDir: string, present: ReadonlySet<string>): TcpInUse | null {
  if (!present.has('sockstat')) return null;
  const sockstat = fs.read(`${netDir}/sockstat`).toString('latin1'); // a copy: the next read reuses fs's buffer
  return parseSockstat(sockstat, present.has('sockstat6') ? fs.read(`${netDir}/sockstat6`).toString('latin1') : null);
}

function isEmptyTcp(table: TableSpec, tcp: TcpInUse, tally: NetTally): boolean {
  if (table.file === 'tcp') return tcp.v4 === 0 && tcp.timeWait === 0;
  if (table.file === 'tcp6') return tcp.v6 === 0 && tcp.timeWait === tally.timeWaitRows();
  return false;
}
