import { socketsByOwner } from '../model/queries.js';
import { countBy, ranked } from '../util/group-by.js';
import { formatEndpoint } from '../util/format.js';
import { serviceName } from '../util/services.js';
import { defineRule } from './rule.js';

/** The peer hung up and this process never called close(): usually a leak on an error path. */
export default defineRule({
  id: 'close-wait',
  severity: 'warning',
  summary: 'sockets stuck in CLOSE_WAIT: the peer closed, the process never called close()',
  needs: ['socketTables'],
  defaults: { min: 10, critical: 1000, evidence: 5 },
  describe: {
    min: 'CLOSE_WAIT sockets one process must own to fire',
    critical: 'critical from this many on',
    evidence: 'peer groups listed',
  },
  advice:
    'CLOSE_WAIT never times out: the peer closed its side and the kernel is waiting for this process ' +
    'to call close(). Look for code paths that return or throw without closing: error and timeout ' +
    'handlers, a response body that is never read to the end or closed (Go: resp.Body.Close(); ' +
    'Java: try-with-resources), connections taken from a pool and not returned. Behind a proxy ' +
    '(nginx, a load balancer) the peer is the proxy closing idle upstream connections.',
  check(snapshot, { min, critical, evidence }) {
    return [...socketsByOwner(snapshot)].flatMap(([pid, sockets]) => {
      const listenPorts = new Set(sockets.filter((s) => s.state === 'LISTEN').map((s) => s.local?.port));
      const stuck = sockets.filter((s) => s.state === 'CLOSE_WAIT');
      if (stuck.length < min) return [];
      // Server side (local port is one of its listeners): peers are clients on ephemeral ports,
      // so group by client address and listener; client side: group by the remote endpoint.
      const groups = ranked(countBy(stuck, (s) =>
        listenPorts.has(s.local?.port) ? `server\t${s.remote?.address ?? '?'}\t${s.local?.port}` : `client\t${formatEndpoint(s.remote)}`));
      const rows: Array<{ peer: string; listener?: string; service: string | null; count: number }> = groups.slice(0, evidence).map(([key, count]) => {
        const [side, a, port] = key.split('\t') as [string, string, string | undefined];
        if (side === 'server') {
          return { peer: a, listener: `:${port}`, service: serviceName(Number(port)) ?? null, count };
        }
        const peerPort = Number(a.slice(a.lastIndexOf(':') + 1));
        return { peer: a, service: serviceName(peerPort) ?? null, count };
      });
      const top = rows[0]!;
      const topText = top.listener === undefined
        ? `${top.peer}${top.service === null ? '' : ` (${top.service})`}`
        : `clients ${top.peer} of listener ${top.listener}${top.service === null ? '' : ` (${top.service})`}`;
      const share = groups.length === 1 ? 'all' : `${top.count}`;
      return [{
        pid, score: stuck.length, count: stuck.length,
        severity: stuck.length >= critical ? ('critical' as const) : undefined,
        message: `${stuck.length} sockets in CLOSE_WAIT, ${share} of them ${top.listener === undefined ? 'to' : 'from'} ${topText} (threshold ${min})`,
        evidence: rows.map((r) => ({ ...r })),
      }];
    });
  },
});
