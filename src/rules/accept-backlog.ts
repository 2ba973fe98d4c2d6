import { isOwnerless, listenerCovers, namespaceGroups, rowsInState } from '../model/queries.js';
import { formatEndpoint } from '../util/format.js';
import { serviceName } from '../util/services.js';
import { defineRule } from './rule.js';

/** A listener whose accept queue holds completed connections the application has not accept()ed. */
export default defineRule({
  id: 'accept-backlog',
  severity: 'warning',
  summary: 'a listening socket with completed connections waiting to be accept()ed',
  needs: ['socketTables'],
  defaults: { min: 5, criticalPercent: 90 },
  describe: {
    min: 'queued connections on one listener to fire',
    criticalPercent: 'critical when the queue reaches this share of the backlog limit',
  },
  advice:
    'Connections completed the handshake and wait in the accept queue: the application is not calling ' +
    'accept() fast enough, or not at all. Usual causes: the accept loop is blocked (all workers busy, a ' +
    'lock, a slow handler on the accepting thread); or, with edge-triggered epoll (EPOLLET), the loop ' +
    'accepts one connection per wakeup instead of looping until EAGAIN, so connections that arrived ' +
    'together stay queued until the next one comes. Queued connections whose clients gave up show as ' +
    'CLOSE_WAIT with no owner (inode 0). Past the backlog limit the kernel drops SYNs and clients time ' +
    'out. Fix the accept loop first; raise the listen() backlog and net.core.somaxconn only after.',
  check(snapshot, { min, criticalPercent }) {
    return namespaceGroups(snapshot).flatMap(({ netns, rows }) => {
      const somaxconn = snapshot.namespaces.find((n) => n.id === netns)?.sysctls.somaxconn ?? null;
      return rowsInState(rows, 'LISTEN').filter((s) => (s.rxQueue ?? 0) >= min).map((l) => {
        const queued = l.rxQueue ?? 0;
        const children = rows.filter((s) => isOwnerless(s) && s.state !== 'TIME_WAIT' && s.state !== 'LISTEN' && listenerCovers(l, s.local));
        const closeWait = children.filter((s) => s.state === 'CLOSE_WAIT').length;
        const established = children.filter((s) => s.state === 'ESTABLISHED').length;
        const limit = l.backlog;
        const full = limit !== null && queued > limit;
        const critical = limit !== null && (full || queued * 100 >= limit * criticalPercent);
        const endpoint = formatEndpoint(l.local);
        const svc = serviceName(l.local?.port);
        const limitText = limit === null ? 'backlog limit unknown' : `backlog limit ${limit}${full ? ', full: new SYNs are dropped' : ''}`;
        return {
          pid: l.owners[0]?.pid ?? null,
          score: limit === null || limit === 0 ? queued : Math.round((queued / limit) * 100),
          count: queued,
          severity: critical ? ('critical' as const) : undefined,
          message: `${queued} connections waiting in the accept queue of ${endpoint}${svc === undefined ? '' : ` (${svc})`}, ${closeWait} of them already closed by the client (${limitText}, threshold ${min})`,
          evidence: [{
            listener: endpoint, service: svc ?? null, queued, backlog: limit,
            closeWaitUnaccepted: closeWait, establishedUnaccepted: established, somaxconn,
          }],
        };
      });
    });
  },
});
