/**
 * Namespace-wide rows (TIME_WAIT, orphaned FIN_WAIT2: no fd, no owner) against the process a live
 * diagnosis is about. Such rows may be anyone's in the namespace: a finding built from them is the
 * diagnosed process's own only when its own sockets touch the same endpoint (a connection to that
 * peer, or its own listener on that port); otherwise it is context about the namespace.
 */
import type { Process } from '../model/process.js';
import { listenerCovers } from '../model/queries.js';
import type { Endpoint, Socket } from '../model/socket.js';

/**
 * The one process the data is about, as attribute() (model/queries.ts) sees it: the process a live
 * `diagnose` read, or the one process whose fd table a capture holds beside a namespace-wide listing
 * (lsof -p PID + ss -tan); else null (captures of many processes, scans).
 */
export function diagnosedProcess(processes: readonly Process[]): Process | null {
  if (processes.length === 1 && processes[0]!.fdKinds !== null) return processes[0]!;
  const subjects = processes.filter((p) => p.fdTableComplete);
  return subjects.length === 1 && processes.every((p) => p.fdTableComplete || p.fdKinds === null) ? subjects[0]! : null;
}

/** Same address, IPv4-mapped IPv6 folded ("::ffff:127.0.0.1" is 127.0.0.1). */
export function sameAddress(a: string, b: string): boolean {
  const strip = (x: string): string => (x.startsWith('::ffff:') ? x.slice(7) : x);
  return strip(a) === strip(b);
}

export function sameEndpoint(a: Endpoint | null, b: Endpoint | null): boolean {
  return a !== null && b !== null && a.port === b.port && sameAddress(a.address, b.address);
}

/**
 * Whether `mine` (the sockets a process owns) touch `endpoint`: as a peer it has a connection to,
 * or as the local end its own listener accepts on (clients of its own listener churn against it).
 */
export function touchesEndpoint(mine: readonly Socket[], endpoint: Endpoint | null): boolean {
  if (endpoint === null) return false;
  return mine.some((s) => (s.state === 'LISTEN' ? listenerCovers(s, endpoint) : sameEndpoint(s.remote, endpoint)));
}

/** Whether one of `mine` is a listener covering `local` (server-side rows on its own listener). */
export function listensOn(mine: readonly Socket[], local: Endpoint | null): boolean {
  return mine.some((s) => s.state === 'LISTEN' && listenerCovers(s, local));
}

/** "4-tuple" key of a row, reversed for its other half: local|remote vs remote|local. */
export function halfKey(local: Endpoint | null, remote: Endpoint | null): string {
  const text = (e: Endpoint | null): string => (e === null ? '-' : `${e.address.startsWith('::ffff:') ? e.address.slice(7) : e.address}:${e.port}`);
  return `${text(local)}|${text(remote)}`;
}
