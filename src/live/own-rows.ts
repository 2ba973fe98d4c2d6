/**
 * Which rows of its namespace's inet tables live diagnose keeps for one process (live/diagnose.ts):
 * its own (an inode among its socket fds), ownerless ones (inode 0: TIME_WAIT, orphaned FIN_WAIT2,
 * unaccepted children), and the FIN_WAIT2 and CLOSE_WAIT rows of others, where the other halves of
 * its own half-closed connections are (other-halves.ts). The main thread and its worker
 * (threads/proc-pid-reader.ts) judge rows with this one rule. No import but a type: the worker
 * bundles it.
 */
import type { KeepRow } from '../parse/proc-net-inet-select.js';

/** The st column of the two halves in /proc/net/tcp: FIN_WAIT2 is "05", CLOSE_WAIT "08" (model/tcp-state.ts). */
export const HALF_CLOSED_CODES: ReadonlySet<string> = new Set(['05', '08']);

/** The rows to keep (see above) for a process whose socket inodes `has` says. */
export function ownRows(has: (inode: string) => boolean): KeepRow {
  return (inode, st) => inode === '0' || has(inode) || HALF_CLOSED_CODES.has(st);
}
