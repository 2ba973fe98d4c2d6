import type { FdKind } from '../model/fd.js';
import type { Snapshot } from '../model/snapshot.js';
import { compareText } from '../util/group-by.js';
import { defineRule } from './rule.js';

interface Held { target: string; kind: FdKind; count: number }

/** What one fd is "the same as": the path, the pipe ("pipe:[N]"), or the anon inode type. */
function targetKey(kind: FdKind, target: string, anonType: string | undefined): string | null {
  if (kind === 'socket') return null; // other rules judge sockets
  if (kind === 'anon_inode') return `anon_inode:${anonType ?? target.slice('anon_inode:'.length).replace(/^\[(.*)\]$/, '$1')}`;
  return target;
}

/**
 * Targets each process holds through many fds: a code path that opens the same file (or creates
 * the same kind of anon inode) again and again and never closes it. fds 0-2 are left out: stdio
 * inherited from the parent, usually /dev/null or a tty three times, is no leak.
 */
function heldTargets(snapshot: Snapshot): Map<number, Held[]> {
  const byPid = new Map<number, Map<string, Held>>();
  for (const f of snapshot.fds) {
    if (f.fd <= 2) continue;
    const key = targetKey(f.kind, f.target, f.anonType);
    if (key === null) continue;
    let m = byPid.get(f.pid);
    if (m === undefined) byPid.set(f.pid, (m = new Map()));
    const h = m.get(key);
    if (h === undefined) m.set(key, { target: key, kind: f.kind, count: 1 });
    else h.count++;
  }
  const out = new Map<number, Held[]>();
  for (const [pid, m] of byPid) out.set(pid, [...m.values()]);
  // Captures keep no record of most file fds: their parser tallied every target instead.
  for (const p of snapshot.processes) if (p.repeatedTargets !== undefined) out.set(p.pid, p.repeatedTargets.map((t): Held => ({ ...t })));
  return out;
}

export default defineRule({
  id: 'repeated-opens',
  severity: 'warning',
  summary: 'one target (path, pipe, anon inode type) held by many fds of one process',
  needs: ['fdTables'],
  defaults: { min: 100, anonMin: 200, critical: 1000, evidence: 5 },
  describe: {
    min: 'fds (above 2) on one path or pipe for a process to fire',
    anonMin: 'fds of one anon inode type (eventpoll, eventfd, inotify, timerfd, ...) to fire',
    critical: 'critical from this many fds on one target',
    evidence: 'targets listed',
  },
  advice:
    'The same file held by hundreds of fds is a reopen that forgets to close: a logger that opens the log ' +
    'file per message or per request, a config or /dev/urandom read that never closes, a library called ' +
    'in a loop that opens its own handle. Many anon inodes of one type are objects created per request ' +
    'or per thread and never closed: an epoll instance or eventfd per connection, a timerfd per timer, an ' +
    'inotify instance per file watcher. Find the open() (or epoll_create, eventfd, inotify_init) with ' +
    '`fdleak trace <pid>` and close it on every path, or open once and share it.',
  check(snapshot, { min, anonMin, critical, evidence }) {
    return [...heldTargets(snapshot)].flatMap(([pid, held]) => {
      const over = held
        .filter((h) => h.count >= (h.kind === 'anon_inode' ? anonMin : min))
        .sort((a, b) => b.count - a.count || compareText(a.target, b.target));
      if (over.length === 0) return [];
      const top = over[0]!;
      const total = over.reduce((s, h) => s + h.count, 0);
      const more = over.length > 1 ? ` (${over.length} targets, ${total} fds in all)` : '';
      return [{
        pid,
        score: total,
        count: total,
        severity: top.count >= critical ? ('critical' as const) : undefined,
        message: `${top.count} fds on ${top.target}${more} (threshold ${top.kind === 'anon_inode' ? anonMin : min})`,
        evidence: over.slice(0, evidence).map((h) => ({ target: h.target, kind: h.kind, fds: h.count })),
      }];
    });
  },
});
