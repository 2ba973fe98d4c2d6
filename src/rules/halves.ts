/**
 * The two halves of one TCP connection in one snapshot: a FIN_WAIT2 row (this side closed) and the
 * CLOSE_WAIT row of the other end (that side never called close()), when both ends are in the data
 * (one namespace read live, or a capture of both). Row A is the other half of row B when A's local
 * endpoint is B's remote one and the other way round.
 */
import type { Process } from '../model/process.js';
import type { Socket } from '../model/socket.js';
import { rowsInState } from '../model/queries.js';
import { halfKey } from './subject.js';

/** Rows in `state` by their own (local|remote) key, to look up the other half of a row. */
export function rowsByTuple(rows: readonly Socket[], state: Socket['state']): Map<string, Socket> {
  const out = new Map<string, Socket>();
  for (const s of rowsInState(rows, state)) out.set(halfKey(s.local, s.remote), s);
  return out;
}

/** The row of `index` that is the other half of `s`, if any. */
export function otherHalf(index: Map<string, Socket>, s: Socket): Socket | undefined {
  return index.get(halfKey(s.remote, s.local));
}

/**
 * Who holds a set of rows, in words: "pid 4242 (python3)", "pids 1, 2", "no process (orphaned)",
 * "an owner this input does not name" (a row with an inode but no known owner).
 */
export function holders(rows: readonly Socket[], processes: readonly Process[]): string {
  const pids = new Map<number, string | null>();
  let ownerless = 0;
  for (const s of rows) {
    if (s.owners.length === 0) ownerless++;
    for (const o of s.owners) if (!pids.has(o.pid)) pids.set(o.pid, o.command ?? processes.find((p) => p.pid === o.pid)?.command ?? null);
  }
  const named = [...pids].sort((a, b) => a[0] - b[0]).map(([pid, command]) => `pid ${pid}${command === null ? '' : ` (${command})`}`);
  if (named.length === 0) return ownerless > 0 && rows.every((s) => s.inode === '0') ? 'no process (orphaned)' : 'an owner this input does not name';
  return named.length <= 3 ? named.join(', ') : `${named.slice(0, 3).join(', ')} and ${named.length - 3} more`;
}
