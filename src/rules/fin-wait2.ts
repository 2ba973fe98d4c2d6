import { attribute, isOwnerless, namespaceGroups, socketsByOwner } from '../model/queries.js';
import type { Socket } from '../model/socket.js';
import { formatEndpoint } from '../util/format.js';
import { countBy, ranked } from '../util/group-by.js';
import { serviceName } from '../util/services.js';
import type { Draft } from './rule.js';
import { defineRule } from './rule.js';

/**
 * FIN_WAIT2: this side closed (or shut down writing), the peer acknowledged but never closed its
 * side. Owned ones (fd kept after shutdown(SHUT_WR)) never time out; orphaned ones live
 * tcp_fin_timeout seconds.
 */
export default defineRule({
  id: 'fin-wait2',
  severity: 'warning',
  summary: 'FIN_WAIT2 accumulating: peers that never close their side',
  needs: ['socketTables'],
  defaults: { ownedMin: 10, min: 100, evidence: 5 },
  describe: {
    ownedMin: 'FIN_WAIT2 sockets one process still holds an fd for (they never time out) to warn',
    min: 'orphaned FIN_WAIT2 rows (fd closed) in the namespace to report (info)',
    evidence: 'peer groups listed',
  },
  advice:
    'FIN_WAIT2: this side closed or called shutdown(SHUT_WR), the peer acknowledged and never closed ' +
    'its own side. Sockets whose fd is still open never time out: the application waits for an EOF ' +
    'that never comes; add a read deadline and close(). Orphaned ones (fd closed) last ' +
    'net.ipv4.tcp_fin_timeout seconds; many of them point at the peer, which likely sits in CLOSE_WAIT.',
  check(snapshot, { ownedMin, min, evidence }) {
    const owned = socketsByOwner(snapshot);
    return namespaceGroups(snapshot).flatMap(({ netns, rows, processes }) => {
      const fin = rows.filter((s) => s.state === 'FIN_WAIT2');
      if (fin.length === 0) return [];
      const orphaned = fin.filter(isOwnerless);
      const finTimeout = snapshot.namespaces.find((n) => n.id === netns)?.sysctls.tcpFinTimeout ?? null;
      const drafts: Draft[] = processes.flatMap((p): Draft[] => {
        const held = fin.filter((s) => s.owners.some((o) => o.pid === p.pid));
        if (held.length < ownedMin) return [];
        const groups = ranked(countBy(held, (s) => formatEndpoint(s.remote)));
        return [{
          pid: p.pid, score: held.length, count: held.length, severity: 'warning' as const,
          message: `${held.length} FIN_WAIT2 sockets held open by the process (they never time out, threshold ${ownedMin}), ${groups.length === 1 ? 'all' : groups[0]![1]} to ${groups[0]![0]}`,
          evidence: groups.slice(0, evidence).map(([peer, count]) => ({ peer, service: serviceName(portOf(peer)) ?? null, count })),
        }];
      });
      if (orphaned.length >= min) {
        const groups = ranked(countBy(orphaned, (s) => formatEndpoint(s.remote)));
        const top = groups[0]![0];
        const touches = (s: Socket): boolean => s.state !== 'LISTEN' && formatEndpoint(s.remote) === top;
        drafts.push({
          pid: attribute(processes, owned, touches), score: Math.floor(orphaned.length / 10), count: orphaned.length,
          severity: 'info' as const,
          message: `${orphaned.length} orphaned FIN_WAIT2 sockets, ${groups[0]![1]} to ${top} (peers that do not close${finTimeout === null ? '' : `; they expire after tcp_fin_timeout ${finTimeout}s`}, threshold ${min})`,
          evidence: groups.slice(0, evidence).map(([peer, count]) => ({ peer, service: serviceName(portOf(peer)) ?? null, count })),
        });
      }
      return drafts;
    });
  },
});

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}
