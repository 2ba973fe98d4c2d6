import { percent } from '../util/format.js';
import { defineRule } from './rule.js';

/** Open fds against the soft RLIMIT_NOFILE: at the limit, accept() and open() fail with EMFILE. */
export default defineRule({
  id: 'fd-limit',
  severity: 'warning',
  summary: 'open fds close to the soft RLIMIT_NOFILE',
  needs: ['limits'],
  defaults: { warnPercent: 80, criticalPercent: 95 },
  describe: {
    warnPercent: 'warning when open fds reach this share of the soft limit',
    criticalPercent: 'critical from this share on',
  },
  advice:
    'At the soft limit every open(), socket() and accept() fails with EMFILE ("too many open files"): ' +
    'a server stops accepting logins while it looks idle. First find what fills the table (the other ' +
    'findings, and fds by kind above); raising the limit (LimitNOFILE= in the systemd unit, ulimit -n, ' +
    'prlimit --nofile) only buys time when the count keeps growing.',
  check(snapshot, { warnPercent, criticalPercent }) {
    return snapshot.processes.flatMap((p) => {
      const soft = p.fdLimit?.soft;
      if (soft === undefined || soft === 'unlimited' || soft === 0) return [];
      const share = (p.fdCount / soft) * 100;
      if (share < warnPercent) return [];
      const critical = share >= criticalPercent;
      return [{
        pid: p.pid,
        score: Math.round(share),
        count: p.fdCount,
        severity: critical ? ('critical' as const) : ('warning' as const),
        message: `${p.fdCount} of ${soft} fds open (${percent(p.fdCount, soft)}, threshold ${critical ? criticalPercent : warnPercent}%)`,
        evidence: [{ open: p.fdCount, soft, hard: p.fdLimit?.hard ?? null, headroom: soft - p.fdCount }],
      }];
    });
  },
});
