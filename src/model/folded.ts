/**
 * Socket rows of one large capture folded into counts instead of records (capture/fold.ts builds
 * them): a million-line lsof capture keeps no record of its ESTABLISHED, CLOSE_WAIT, unix or udp
 * sockets, nor of its socket fds in no table, only what the rules and reports ask of them. The
 * snapshot's `sockets` and `fds` then hold the other rows only (LISTEN, FIN_WAIT2, ... and deleted
 * files); the queries in queries.ts answer over both. Attached beside a snapshot (not in it: a
 * snapshot stays the plain, validated document of snapshot.ts).
 */
import type { Snapshot } from './snapshot.js';
import type { Socket } from './socket.js';

/** Folded CLOSE_WAIT rows of one process that share a peer (FoldedSockets.closeWaitGroups). */
export interface CloseWaitGroup {
  /** Server side: `port` is the local (listener's) port; client side: the remote one. */
  server: boolean;
  /** The remote address, as the rows' records would name it. */
  remote: string;
  port: number;
  count: number;
  /** Rows with Recv-Q > 0, and the data bytes they hold (Recv-Q - 1 each: the FIN takes one). */
  unread: number;
  unreadBytes: number;
}

export interface FoldedSockets {
  /** Distinct socket rows folded (beside the snapshot's `sockets`). */
  readonly rows: number;
  /** Whether a folded row has this inode. */
  hasInode(inode: string): boolean;
  /** Folded sockets a process owns (each once however many of its fds hold it), by state as summaries name it. */
  statesOf(pid: number): ReadonlyMap<string, number> | undefined;
  /** Processes that own folded CLOSE_WAIT rows. */
  closeWaitOwners(): number[];
  /** The folded CLOSE_WAIT rows a process owns, as records (made on each call: one process at a time). */
  closeWaitOf(pid: number): Socket[];
  /**
   * The folded CLOSE_WAIT rows a process owns, grouped as the close-wait rule groups them, without a
   * record a row: a row whose local port `isServerPort` by the remote address and local port (server
   * side), any other by the remote endpoint (client side). Each group once, in no particular order.
   */
  closeWaitGroups(pid: number, isServerPort: (port: number) => boolean): CloseWaitGroup[];
  /** The folded CLOSE_WAIT rows whose own (local|remote) key is one of `keys`, as records, each once. */
  closeWaitByKey(keys: ReadonlySet<string>): Socket[];
  /**
   * Local ports that are listeners by the rows' shape (queries.ts inferredListenPort), over every
   * row of the capture, folded or not, for the port range the capture was folded with.
   */
  inferredListenPorts(min: number, range: [number, number] | null): Set<number>;
  /**
   * The socket fds kept without a row, in the order read, that are orphans (orphanSocketFds): with an inode in no row of the fold
   * and no row of `tables` (isOrphanSocket, any namespace), or without one and an lsof sock row.
   */
  forEachOrphanFd(tables: ReadonlyMap<string, ReadonlySet<string>>, fn: (pid: number, fd: number, withInode: boolean, hint: string | null, sockRow: boolean) => void): void;
}

const folds = new WeakMap<Snapshot, FoldedSockets>();

export function attachFold(snapshot: Snapshot, fold: FoldedSockets): void {
  folds.set(snapshot, fold);
}

/** The folded rows of a snapshot, or undefined (every row is a record: live data, small captures). */
export function foldOf(snapshot: Snapshot): FoldedSockets | undefined {
  return folds.get(snapshot);
}
