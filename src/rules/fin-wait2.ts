import { rowsOfNetns } from '../model/queries.js';
import { formatEndpoint } from '../util/format.js';
import { countBy, ranked } from '../util/group-by.js';
import { serviceName } from '../util/services.js';
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
    ownedMin: 'FIN_WAIT2 sockets the process still holds an fd for (never time out) to warn',
    min: 'FIN_WAIT2 rows in the namespace towards the process\'s peers to report (info)',
    evidence: 'peer groups listed',
  },
  advice:
    'FIN_WAIT2: this side closed or called shutdown(SHUT_WR), the peer acknowledged and never closed ' +
    'its own side. Sockets whose fd is still open never time out: the application waits for an EOF ' +
    'that never comes; add a read deadline and close(). Orphaned ones (fd closed) last ' +
    'net.ipv4.tcp_fin_timeout seconds; many of them point at the peer, which likely sits in CLOSE_WAIT.',
  check(snapshot, { ownedMin, min, evidence }) {
    return snapshot.processes.flatMap((p) => {
      const rows = rowsOfNetns(snapshot, p.netns).filter((s) => s.state === 'FIN_WAIT2');
      if (rows.length === 0) return [];
      const owned = rows.filter((s) => s.owners.some((o) => o.pid === p.pid));
      const orphaned = rows.filter((s) => s.inode === '0');
      if (owned.length < ownedMin && orphaned.length < min) return [];
      const groups = ranked(countBy([...owned, ...orphaned], (s) => formatEndpoint(s.remote)));
      const finTimeout = snapshot.namespaces.find((n) => n.id === p.netns)?.sysctls.tcpFinTimeout ?? null;
      const warn = owned.length >= ownedMin;
      return [{
        pid: p.pid,
        score: owned.length + Math.floor(orphaned.length / 10),
        count: owned.length + orphaned.length,
        severity: warn ? ('warning' as const) : ('info' as const),
        message: `${owned.length} FIN_WAIT2 sockets held open by the process (never time out, threshold ${ownedMin}), ${orphaned.length} orphaned in the namespace${finTimeout === null ? '' : ` (tcp_fin_timeout ${finTimeout}s)`}`,
        evidence: groups.slice(0, evidence).map(([peer, count]) => ({
          peer, service: serviceName(Number(peer.slice(peer.lastIndexOf(':') + 1))) ?? null, count,
          heldOpen: owned.filter((s) => formatEndpoint(s.remote) === peer).length,
        })),
      }];
    });
  },
});
