import { numberRuns } from '../util/format.js';
import type { Fd } from '../model/fd.js';
import { isOrphanSocket, judgedNetns, tableInodes } from '../model/queries.js';
import { countBy, groupBy, ranked } from '../util/group-by.js';
import { defineRule } from './rule.js';

/**
 * Socket fds with no row in any table of the process's own network namespace: created and never
 * bound or connected, or closed by the stack while the application kept the fd.
 */
export default defineRule({
  id: 'orphan-sockets',
  severity: 'warning',
  summary: 'socket fds that appear in no socket table of the process\'s network namespace',
  needs: ['fdTables', 'socketTables'],
  defaults: { min: 10, critical: 1000, evidence: 5 },
  describe: {
    min: 'orphan socket fds one process must hold to fire',
    critical: 'critical from this many on',
    evidence: 'fd groups listed',
  },
  advice:
    'These sockets hold an fd but are in no kernel table: socket() was called and the socket never ' +
    'got bound or connected (a client whose connect/init failed and whose error path skips close()), ' +
    'or the connection was shut down and the fd kept. Each one counts against RLIMIT_NOFILE. Look at ' +
    'client construction on error paths (metrics, tracing, DB or HTTP clients created per request or ' +
    'per login), and make ownership explicit (try/finally, defer, with-blocks).',
  check(snapshot, { min, critical, evidence }) {
    const orphans: Fd[] = [];
    const tables = tableInodes(snapshot);
    const processes = new Map(snapshot.processes.map((p) => [p.pid, p]));
    const fds = snapshot.fds;
    // Indexed loop: this runs cold, once, over every fd of the snapshot, where for-of costs more.
    for (let i = 0; i < fds.length; i++) {
      const fd = fds[i]!;
      if (fd.kind !== 'socket' || fd.inode === null) continue;
      if (isOrphanSocket(tables, judgedNetns(snapshot, processes.get(fd.pid)), fd.inode)) orphans.push(fd);
    }
    return [...groupBy(orphans, (fd) => fd.pid)].flatMap(([pid, fds]) => {
      if (fds.length < min) return [];
      const byHint = ranked(countBy(fds, (fd) => fd.hint ?? 'unknown'));
      const rows = byHint.slice(0, evidence).map(([protocol, count]) => {
        const numbers = fds.filter((fd) => (fd.hint ?? 'unknown') === protocol).map((fd) => fd.fd);
        return { protocol, count, fds: fdList(numbers) };
      });
      const draft = {
        pid, score: fds.length, count: fds.length,
        severity: fds.length >= critical ? ('critical' as const) : undefined,
        message: `${fds.length} socket fds in no socket table (never connected, or closed by the stack but not by the app) (threshold ${min})`,
        evidence: rows,
      };
      return snapshot.coverage.netnsAware
        ? [draft]
        : [{ ...draft, confidence: 'low' as const, confidenceReason: 'the input cannot tell a leaked socket from one in another network namespace' }];
    });
  },
});

/** [3,4,5,9] -> "3-5, 9"; long lists end in "(+N more)". */
export function fdList(numbers: number[], max = 8): string {
  const ranges = numberRuns(numbers);
  return ranges.length <= max ? ranges.join(', ') : `${ranges.slice(0, max).join(', ')} (+${ranges.length - max} more)`;
}
