import { numberRuns } from '../util/format.js';
import type { Fd } from '../model/fd.js';
import { isLsofSockRow, isOrphanSocket, judgedNetns, socketsByOwner, tableInodes } from '../model/queries.js';
import { countBy, groupBy, ranked } from '../util/group-by.js';
import type { Draft } from './rule.js';
import { defineRule } from './rule.js';

const LOW_REASON = 'the input cannot tell a leaked socket from one in another network namespace';
const SOCK_REASON = 'lsof found these sockets in no table of its own network namespace (TYPE sock): never bound or connected, or held in another namespace, which lsof text cannot tell apart';

/**
 * Socket fds with no row in any table of the process's own network namespace: created and never
 * bound or connected, or closed by the stack while the application kept the fd.
 */
export default defineRule({
  id: 'orphan-sockets',
  severity: 'warning',
  summary: 'socket fds that appear in no socket table of the process\'s network namespace',
  // No socket tables needed: lsof's TYPE sock rows are orphans by lsof's own reading of them.
  needs: ['fdTables'],
  defaults: { min: 10, critical: 1000, evidence: 5, netnsSpan: 3 },
  describe: {
    min: 'orphan socket fds one process must hold to fire',
    critical: 'critical from this many on',
    evidence: 'fd groups listed',
    netnsSpan: 'processes whose every socket is an lsof sock row (none it could identify) that mark a host-wide lsof across network namespaces: one advice instead of a finding each',
  },
  advice:
    'These sockets hold an fd but are in no kernel table: socket() was called and the socket never ' +
    'got bound or connected (a client whose connect/init failed and whose error path skips close()), ' +
    'or the connection was shut down and the fd kept. Each one counts against RLIMIT_NOFILE. Look at ' +
    'client construction on error paths (metrics, tracing, DB or HTTP clients created per request or ' +
    'per login), and make ownership explicit (try/finally, defer, with-blocks).',
  check(snapshot, { min, critical, evidence, netnsSpan }) {
    const orphans: Fd[] = [];
    const tables = tableInodes(snapshot);
    const processes = new Map(snapshot.processes.map((p) => [p.pid, p]));
    // The namespace each process's fds are judged in, once per process rather than once per fd.
    const netnsOf = new Map(snapshot.processes.map((p) => [p.pid, judgedNetns(snapshot, p)]));
    const fds = snapshot.fds;
    // Indexed loop: this runs cold, once, over every fd of the snapshot, where for-of costs more.
    for (let i = 0; i < fds.length; i++) {
      const fd = fds[i]!;
      if (fd.kind !== 'socket') continue;
      // Without an inode (lsof -F without "i"), lsof's own reading: a sock row is in none of its tables.
      const netns = netnsOf.has(fd.pid) ? netnsOf.get(fd.pid)! : judgedNetns(snapshot, undefined);
      if (fd.inode === null ? isLsofSockRow(fd) : isOrphanSocket(tables, netns, fd.inode)) orphans.push(fd);
    }
    const byPid = groupBy(orphans, (fd) => fd.pid);
    // A host-wide lsof run in one network namespace lists every other namespace's sockets as sock
    // rows: processes with orphan-looking sockets and no socket row of their own. From netnsSpan of
    // them on, one piece of advice to scope the capture replaces their findings.
    const owned = snapshot.coverage.netnsAware ? new Map() : socketsByOwner(snapshot);
    const foreign = snapshot.coverage.netnsAware ? [] : [...byPid].filter(([pid]) => (owned.get(pid)?.length ?? 0) === 0);
    const spans = foreign.length >= netnsSpan;
    const drafts: Draft[] = spans ? [spanDraft(foreign, processes, evidence)] : [];
    const skip = new Set(spans ? foreign.map(([pid]) => pid) : []);
    return drafts.concat([...byPid].flatMap(([pid, fds]): Draft[] => {
      if (fds.length < min || skip.has(pid)) return [];
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
      if (snapshot.coverage.netnsAware) return [draft];
      return [{ ...draft, confidence: 'low' as const, confidenceReason: fds.every(isLsofSockRow) ? SOCK_REASON : LOW_REASON }];
    }));
  },
});

/** The one finding of a capture that spans network namespaces: which processes, and how to scope it. */
function spanDraft(foreign: Array<[number, Fd[]]>, processes: ReadonlyMap<number, { command: string }>, evidence: number): Draft {
  const total = foreign.reduce((n, [, fds]) => n + fds.length, 0);
  const top = [...foreign].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  const pid = top[0]![0];
  const scope = `lsof -nP -p ${pid}, or inside its namespace: nsenter --net=/proc/${pid}/ns/net lsof -nP -p ${pid}`;
  return {
    pid: null, score: 0, count: total, severity: 'info',
    message: `${foreign.length} processes hold ${total} socket fds that lsof found in no table, and no socket it could identify: ` +
      `they most likely live in other network namespaces (containers), whose tables a host-wide lsof does not read. Scope the capture: ${scope}`,
    evidence: top.slice(0, evidence).map(([p, fds]) => ({ pid: p, command: processes.get(p)?.command ?? null, sockets: fds.length })),
    advice: 'lsof reads the socket tables of its own network namespace only: a socket of a process in another namespace ' +
      '(a container, a pod) shows as TYPE sock ("protocol: TCP"), just like a leaked one. Run lsof on one process ' +
      `(lsof -nP -p PID) inside its namespace (nsenter --net=/proc/PID/ns/net lsof -nP -p PID), or run fdleak diagnose PID, which reads each process's own namespace.`,
    confidence: 'low',
    confidenceReason: 'lsof text says nothing of network namespaces: this is the shape of a host-wide capture across them',
  };
}

/** [3,4,5,9] -> "3-5, 9"; long lists end in "(+N more)". */
export function fdList(numbers: number[], max = 8): string {
  const ranges = numberRuns(numbers);
  return ranges.length <= max ? ranges.join(', ') : `${ranges.slice(0, max).join(', ')} (+${ranges.length - max} more)`;
}
