/**
 * Keys that name the same thing in two snapshots taken apart in time. None depends on how the
 * data was read: a live socket's origin carries the line of /proc/net/* it came from, and those
 * lines move on every read (rows are listed by hash bucket), so no key uses an origin.
 *
 * - a process: pid + start time (field 22 of /proc/<pid>/stat, clock ticks since boot); a pid
 *   reused by another process has another start time. Captured text has no start time: "?".
 * - an fd: its process, its number and its target; a number closed and reused for another target
 *   is another fd.
 * - a socket row: its inode within its network namespace when the row has one (inode 0 is every
 *   TIME_WAIT row: those are told apart by protocol, state and endpoints).
 */
import type { Fd } from './fd.js';
import type { Process } from './process.js';
import type { Endpoint, Socket } from './socket.js';

/** "4113@98765" (pid @ start time); "4113@?" when the start time is unknown. */
export function processKey(p: Pick<Process, 'pid' | 'startTime'>): string {
  return `${p.pid}@${p.startTime ?? '?'}`;
}

/** How two records of one pid relate: the same process, the pid reused, or not knowable. */
export function sameProcess(a: Pick<Process, 'pid' | 'startTime'>, b: Pick<Process, 'pid' | 'startTime'>): 'same' | 'reused' | 'unknown' | 'other' {
  if (a.pid !== b.pid) return 'other';
  if (a.startTime === null || b.startTime === null) return 'unknown';
  return a.startTime === b.startTime ? 'same' : 'reused';
}

/** "4113:7:socket:[12345]": pid, fd number, target. */
export function fdKey(fd: Pick<Fd, 'pid' | 'fd' | 'target'>): string {
  return `${fd.pid}:${fd.fd}:${fd.target}`;
}

function endpointText(e: Endpoint | null): string {
  return e === null ? '-' : `${e.address}|${e.port ?? ''}`;
}

/**
 * "net:[4026531840]/tcp/12345" for a row with an inode; for an ownerless or inode-less row the
 * protocol, state and both endpoints (a TIME_WAIT row is its 4-tuple) and, when the source says,
 * the owners.
 */
export function socketKey(s: Socket): string {
  const ns = s.netns ?? '?';
  if (s.inode !== null && s.inode !== '0') return `${ns}/${s.proto}/${s.inode}`;
  const owners = s.owners.map((o) => `${o.pid}.${o.fd ?? ''}`).join(',');
  return `${ns}/${s.proto}/${s.state ?? s.detail ?? ''}/${endpointText(s.local)}/${endpointText(s.remote)}/${s.inode ?? ''}/${owners}`;
}
