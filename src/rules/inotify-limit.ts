import { groupBy } from '../util/group-by.js';
import { percent, plural } from '../util/format.js';
import { defineRule } from './rule.js';

/**
 * inotify instances and watches against the per-user limits: at max_user_instances inotify_init()
 * fails with EMFILE ("too many open files" with plenty of fds left), at max_user_watches
 * inotify_add_watch() fails with ENOSPC ("no space left on device" on a disk that has room). Both
 * limits are per user (per euid, per user namespace): the user's total is read where it is cheap
 * (live: that user's processes), else the finding says it judged the process's share only.
 */
export default defineRule({
  id: 'inotify-limit',
  severity: 'warning',
  summary: 'inotify instances / watches close to fs.inotify.max_user_instances / max_user_watches',
  needs: ['fdTables'],
  defaults: { warnPercent: 80, criticalPercent: 95 },
  describe: {
    warnPercent: 'warning when the user\'s inotify instances or watches reach this share of its limit',
    criticalPercent: 'critical from this share on',
  },
  advice:
    'At fs.inotify.max_user_instances inotify_init() fails with "too many open files" although the fd ' +
    'limit is far; at max_user_watches inotify_add_watch() fails with "no space left on device". ' +
    'Instances that pile up in one process are watchers created and never closed (a file watcher per ' +
    'request, a reloaded config watcher, a test runner); many watches are one recursive watch of a big ' +
    'tree (node_modules, a build directory). Close the watcher when done; raise the limits ' +
    '(sysctl fs.inotify.max_user_instances=, max_user_watches=) only for a legitimate need.',
  check(snapshot, { warnPercent, criticalPercent }) {
    const limits = snapshot.host.inotify;
    if (limits === undefined || limits === null) return []; // captured text: no fdinfo, no limits
    const mine = groupBy(snapshot.fds.filter((f) => f.anonType === 'inotify'), (f) => f.pid);
    return snapshot.processes.flatMap((p) => {
      const fds = mine.get(p.pid) ?? [];
      if (fds.length === 0) return [];
      const instances = fds.length;
      const watches = fds.reduce((s, f) => s + (f.inotifyWatches ?? 0), 0);
      const user = p.inotifyUser ?? null;
      const userInstances = user?.instances ?? instances;
      const userWatches = user?.watches ?? watches;
      const iShare = (userInstances / limits.maxUserInstances) * 100;
      const wShare = (userWatches / limits.maxUserWatches) * 100;
      const share = Math.max(iShare, wShare);
      if (share < warnPercent) return [];
      const whose = user === null ? 'this process' : `uid ${user.uid} (${plural(user.processes, 'process', 'processes')})`;
      const byInstances = iShare >= wShare;
      const part = byInstances
        ? `${userInstances} of ${limits.maxUserInstances} inotify instances (${percent(userInstances, limits.maxUserInstances)}) held by ${whose}`
        : `${userWatches} of ${limits.maxUserWatches} inotify watches (${percent(userWatches, limits.maxUserWatches)}) held by ${whose}`;
      const own = user === null ? ' (the user\'s total was not read: this is the process\'s share)' : `, ${byInstances ? instances : watches} of them by this process`;
      const critical = share >= criticalPercent;
      return [{
        pid: p.pid,
        score: Math.round(share),
        count: byInstances ? instances : watches,
        severity: critical ? ('critical' as const) : undefined,
        message: `${part}${own} (threshold ${critical ? criticalPercent : warnPercent}%)`,
        evidence: [{
          instances, watches,
          userInstances: user === null ? null : user.instances, userWatches: user === null ? null : user.watches,
          maxUserInstances: limits.maxUserInstances, maxUserWatches: limits.maxUserWatches, limitSource: limits.source,
        }],
      }];
    });
  },
});
