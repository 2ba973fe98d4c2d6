import { attribute, namespaceGroups, portRangeOf, socketsByOwner } from '../model/queries.js';
import type { Socket } from '../model/socket.js';
import { formatEndpoint, percent } from '../util/format.js';
import { countBy, ranked } from '../util/group-by.js';
import { serviceName } from '../util/services.js';
import { defineRule } from './rule.js';

/**
 * TIME_WAIT rows of a namespace (they have no owner after close()), grouped by the endpoint they
 * churn against: the remote endpoint on the client side, the local listener on the server side.
 */
export default defineRule({
  id: 'time-wait',
  severity: 'warning',
  summary: 'TIME_WAIT piling up towards one endpoint, against the ephemeral port range',
  needs: ['socketTables', 'ownerlessRows'],
  defaults: { min: 100, warnPercent: 10, criticalPercent: 50, evidence: 5 },
  describe: {
    min: 'TIME_WAIT sockets towards one endpoint to report (info)',
    warnPercent: 'warning when one remote endpoint holds this share of ip_local_port_range',
    criticalPercent: 'critical from this share on',
    evidence: 'endpoint groups listed',
  },
  advice:
    'Every closed connection leaves TIME_WAIT for 60 s on the side that closed first. Thousands towards ' +
    'one endpoint mean a new connection per request or query instead of a pool or keep-alive. One source ' +
    'address can hold at most the ephemeral port range in connections to one ip:port; past that, ' +
    'connect() fails with EADDRNOTAVAIL ("cannot assign requested address"). Use a connection pool / ' +
    'HTTP keep-alive. net.ipv4.tcp_tw_reuse (1 = all outgoing, 2 = loopback only) lets connect() reuse ' +
    'TIME_WAIT ports: a stopgap that hides the churn, not a fix; widening ip_local_port_range buys time.',
  check(snapshot, { min, warnPercent, criticalPercent, evidence }) {
    const owned = socketsByOwner(snapshot);
    return namespaceGroups(snapshot).flatMap(({ netns, rows, processes }) => {
      const waiting = rows.filter((s) => s.state === 'TIME_WAIT');
      if (waiting.length === 0) return [];
      const listenPorts = new Set(rows.filter((s) => s.state === 'LISTEN').map((s) => s.local?.port));
      const key = (s: Socket): string =>
        listenPorts.has(s.local?.port) ? `listener\t${formatEndpoint(s.local)}` : `peer\t${formatEndpoint(s.remote)}`;
      const groups = ranked(countBy(waiting, key));
      const [topKey, topCount] = groups[0]!;
      if (topCount < min) return [];
      const [topSide, topEndpoint] = topKey.split('\t') as [string, string];
      const clientSide = topSide === 'peer';
      // Which of the processes talk to that endpoint (a peer) or own that listener.
      const touchesKey = (k: string) => (s: Socket): boolean =>
        k.startsWith('peer') ? s.state !== 'LISTEN' && `peer\t${formatEndpoint(s.remote)}` === k : s.state === 'LISTEN' && `listener\t${formatEndpoint(s.local)}` === k;
      const pid = attribute(processes, owned, touchesKey(topKey));
      const mine = pid === null ? [] : (owned.get(pid) ?? []);
      const range = portRangeOf(snapshot, netns);
      const size = range === null ? null : range[1] - range[0] + 1;
      const rangeText = range === null ? null : `${range[0]}-${range[1]}`;
      const rows2 = groups.slice(0, evidence).map(([k, count]) => {
        const [side, endpoint] = k.split('\t') as [string, string];
        const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
        return {
          [side === 'listener' ? 'listener' : 'peer']: endpoint,
          service: serviceName(port) ?? null,
          count,
          ephemeralRange: rangeText,
          rangeUsed: size === null || side === 'listener' ? null : percent(count, size),
          touchesProcess: mine.some(touchesKey(k)),
        };
      });
      const share = size === null ? 0 : (topCount / size) * 100;
      const severity = clientSide && share >= criticalPercent ? 'critical' : clientSide && share >= warnPercent ? 'warning' : 'info';
      const svc = serviceName(Number(topEndpoint.slice(topEndpoint.lastIndexOf(':') + 1)));
      const against = size === null || !clientSide ? '' : `, ${percent(topCount, size)} of the ${size} ephemeral ports ${rangeText}`;
      const threshold = !clientSide ? `threshold ${min}` : size === null ? `ephemeral range unknown, threshold ${min}` : `threshold ${warnPercent}%`;
      return [{
        pid,
        score: Math.round(share) || Math.min(topCount, 99),
        count: waiting.length,
        severity: severity as 'critical' | 'warning' | 'info',
        message: `${waiting.length} sockets in TIME_WAIT, ${topCount} ${clientSide ? 'to' : 'on listener'} ${topEndpoint}${svc === undefined ? '' : ` (${svc})`}${against} (${threshold})`,
        evidence: rows2,
      }];
    });
  },
});
