/**
 * Which TCP tables of a network namespace hold no row, told by its /proc/<pid>/net/sockstat and
 * sockstat6 counters instead of the tables themselves. Why: the kernel writes /proc/net/tcp6 by
 * walking the namespace's whole TCP hash, IPv4 sockets included, and prints the IPv6 ones: on a
 * namespace of 25,000 IPv4 rows and no IPv6 one, reading the empty tcp6 cost 20 ms of kernel time
 * (`cat`, measured here), a third of the tcp read itself, for a header line. The counters cost two
 * small reads.
 *
 * A table has no row when no socket of its family is in the hash ("TCP: inuse" counts the hashed
 * tcp_prot sockets of the namespace, listeners, connections and orphaned ones alike; "TCP6: inuse"
 * the tcpv6_prot ones; a SYN_RECV request sock lives under its listener, which is counted) and no
 * TIME_WAIT minisock exists ("tw", one count for both families: any makes both tables be read; on
 * kernels where it counts every namespace's, a table is then read that might have been skipped,
 * never the reverse). Sockets created and never bound or connected are neither counted nor in the
 * tables. Anything unexpected in the counters (absent, unreadable, a format not known): every
 * table is read.
 */
import { readFileSync } from 'node:fs';

/** The text standing for a table known to hold no row (readNetTables then counts it as read, with no rows). */
export const NO_ROWS = '';

/** sockstat and sockstat6 of a namespace: TCP sockets in use per family, TIME_WAIT sockets (`fdleak scan` judges its tables by them too). */
export interface TcpInUse {
  v4: number;
  /** null where sockstat6 is absent or says nothing of TCP6. */
  v6: number | null;
  timeWait: number;
}

/**
 * Pure: the TCP counters of sockstat ("TCP: inuse 3 orphan 0 tw 1 alloc 5 mem 1") and sockstat6
 * ("TCP6: inuse 0"; null where there is none); null where sockstat's TCP line is not that format.
 */
export function parseSockstat(sockstat: string, sockstat6: string | null): TcpInUse | null {
  const v4 = /^TCP: inuse (\d+) orphan -?\d+ tw (\d+) /m.exec(sockstat);
  if (v4 === null) return null;
  const v6 = sockstat6 === null ? null : /^TCP6: inuse (\d+)$/m.exec(sockstat6);
  return { v4: Number(v4[1]), v6: v6 === null ? null : Number(v6[1]), timeWait: Number(v4[2]) };
}

/** The TCP tables (file names under /proc/<pid>/net) that hold no row, from the texts of sockstat and sockstat6. Pure. */
export function tcpTablesWithoutRows(sockstat: string, sockstat6: string): Set<string> {
  const tcp = parseSockstat(sockstat, sockstat6);
  const empty = new Set<string>();
  if (tcp === null || tcp.v6 === null || tcp.timeWait !== 0) return empty;
  if (tcp.v4 === 0) empty.add('tcp');
  if (tcp.v6 === 0) empty.add('tcp6');
  return empty;
}

/** tcpTablesWithoutRows of the namespace seen through `netDir` (/proc/<pid>/net); none where the counters cannot be read. */
export function readTcpTablesWithoutRows(netDir: string): Set<string> {
  try {
    return tcpTablesWithoutRows(readFileSync(`${netDir}/sockstat`, 'latin1'), readFileSync(`${netDir}/sockstat6`, 'latin1'));
  } catch {
    return new Set();
  }
}
