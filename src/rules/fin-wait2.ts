import { attribute, closeWaitByKey, isOwnerless, listenPortsByShape, namespaceGroups, portRangeOf, rowsInState, socketsByOwner } from '../model/queries.js';
import type { Socket } from '../model/socket.js';
import { formatEndpoint } from '../util/format.js';
import { ranked } from '../util/group-by.js';
import { serviceName } from '../util/services.js';
import { holders, otherHalf } from './halves.js';
import type { Draft } from './rule.js';
import { defineRule } from './rule.js';
import { diagnosedProcess, halfKey, listensOn, touchesEndpoint } from './subject.js';

/**
 * FIN_WAIT2: this side closed (or shut down writing), the peer acknowledged but never closed its
 * side. Owned ones (fd kept after shutdown(SHUT_WR)) never time out; orphaned ones live
 * tcp_fin_timeout seconds. Orphaned rows on a listener's port are grouped on the listener (their
 * remote ports are the clients' ephemeral ports); the others by peer. When the other end's
 * CLOSE_WAIT rows are in the data too, the two halves are joined: a matched pair is the incident.
 */
export default defineRule({
  id: 'fin-wait2',
  severity: 'warning',
  summary: 'FIN_WAIT2 accumulating: peers that never close their side',
  needs: ['socketTables'],
  defaults: { ownedMin: 10, min: 100, pairedMin: 10, evidence: 5, listenerPeers: 3 },
  describe: {
    ownedMin: 'FIN_WAIT2 sockets one process still holds an fd for (they never time out) to warn',
    min: 'orphaned FIN_WAIT2 rows (fd closed) in the namespace to report (info)',
    pairedMin: 'FIN_WAIT2 rows whose other end is a CLOSE_WAIT row in the data to warn, whatever min',
    evidence: 'peer or listener groups listed',
    listenerPeers: 'with no LISTEN row, rows sharing a local port with this many distinct peers on ephemeral ports make it a listener',
  },
  advice:
    'FIN_WAIT2: this side closed or called shutdown(SHUT_WR), the peer acknowledged and never closed ' +
    'its own side. Sockets whose fd is still open never time out: the application waits for an EOF ' +
    'that never comes; add a read deadline and close(). Orphaned ones (fd closed) last ' +
    'net.ipv4.tcp_fin_timeout seconds; many of them point at the peer, which likely sits in CLOSE_WAIT.',
  check(snapshot, { ownedMin, min, pairedMin, evidence, listenerPeers }) {
    const owned = socketsByOwner(snapshot);
    return namespaceGroups(snapshot).flatMap(({ netns, rows, processes }) => {
      const fin = rowsInState(rows, 'FIN_WAIT2');
      if (fin.length === 0) return [];
      // CLOSE_WAIT rows by their own key (rowsByTuple), folded ones only where a FIN_WAIT2 row is their other half
      // The key of each FIN_WAIT2 row's other half, built once: it is both what a folded capture is
      // asked for and what each row is paired by below.
      const halfKeys = fin.map((s) => halfKey(s.remote, s.local));
      const closeWait = closeWaitByKey(snapshot, rows, new Set(halfKeys), (s) => halfKey(s.local, s.remote));
      // Each FIN_WAIT2 row's CLOSE_WAIT half, looked up once: paired() is asked of every group, of
      // its evidence row and of its message, and building the key again each time (a string per
      // row per question): 1,000 pairs in the data, under --cpu-prof, paired() 4 ms instead of 12.
      const pairOf = new Map<Socket, Socket | undefined>();
      for (let i = 0; i < fin.length; i++) pairOf.set(fin[i]!, closeWait.get(halfKeys[i]!));
      const orphaned = fin.filter(isOwnerless);
      const finTimeout = snapshot.namespaces.find((n) => n.id === netns)?.sysctls.tcpFinTimeout ?? null;
      const range = portRangeOf(snapshot, netns);
      // Listeners: LISTEN rows, or told by the rows' shape when a grep dropped them.
      const listening = new Set(rowsInState(rows, 'LISTEN').map((s) => s.local?.port));
      const inferred = listenPortsByShape(snapshot, rows, listenerPeers, range);
      const listenPorts = { has: (port: number | null | undefined): boolean => listening.has(port) || inferred(port) };
      const subject = diagnosedProcess(processes);
      const mine = subject === null ? [] : (owned.get(subject.pid) ?? []);
      const paired = (list: readonly Socket[]): Socket[] => list.flatMap((s) => (pairOf.has(s) ? pairOf.get(s) : otherHalf(closeWait, s)) ?? []);
      const pairText = (list: readonly Socket[]): string => {
        const cw = paired(list);
        return cw.length === 0 ? '' : `, the other half of the ${cw.length} CLOSE_WAIT held by ${holders(cw, snapshot.processes)}`;
      };
      const row = (g: OrphanGroup | HeldGroup): Record<string, string | number | null> => {
        const cw = paired(g.rows).length;
        return { [g.side]: g.endpoint, service: serviceName(portOf(g.endpoint)) ?? null, count: g.rows.length, ...(cw > 0 ? { closeWaitPeers: cw } : {}) };
      };

      const drafts: Draft[] = processes.flatMap((p): Draft[] => {
        if (snapshot.kind === 'live' && subject !== null && p.pid !== subject.pid) return []; // rows added as the other half
        const held = fin.filter((s) => s.owners.some((o) => o.pid === p.pid));
        if (held.length < ownedMin) return [];
        const groups = group(held, () => false);
        return [{
          pid: p.pid, score: held.length, count: held.length, severity: 'warning' as const,
          message: `${held.length} FIN_WAIT2 sockets held open by the process (they never time out, threshold ${ownedMin}), ${groups.length === 1 ? 'all' : groups[0]!.rows.length} to ${groups[0]!.endpoint}${pairText(held)}`,
          evidence: groups.slice(0, evidence).map(row),
        }];
      });

      // Server side: the local port is a listener's (or, with no listener row, outside the ephemeral
      // range while the remote port is inside it): group on the listener, not on client ports.
      const serverSide = (s: Socket): boolean => {
        const lp = s.local?.port;
        const rp = s.remote?.port;
        if (listenPorts.has(lp)) return true;
        return range !== null && lp != null && rp != null && (lp < range[0] || lp > range[1]) && rp >= range[0] && rp <= range[1];
      };
      const groups = group(orphaned, serverSide);
      const touches = (g: OrphanGroup): boolean => (g.side === 'listener' ? listensOn(mine, g.rows[0]!.local) : touchesEndpoint(mine, g.rows[0]!.remote));
      // One finding per group whose other half is in the data (each is an incident of its own);
      // otherwise one for the namespace from min orphaned rows on (they expire by themselves).
      const pairedGroups = groups.filter((g) => paired(g.rows).length >= pairedMin);
      const headlines = pairedGroups.length > 0 ? pairedGroups : orphaned.length >= min ? [groups[0]!] : [];
      for (const top of headlines) {
        const cw = paired(top.rows);
        // A live diagnosis: rows its own sockets do not touch are another process's.
        const context = subject !== null && !touches(top);
        const pid = subject !== null
          ? (context ? null : subject.pid)
          : attribute(processes, owned, (s) => (top.side === 'peer' ? s.state !== 'LISTEN' && formatEndpoint(s.remote) === top.endpoint : s.state === 'LISTEN' && listensOn([s], top.rows[0]!.local)));
        // When the process holds the CLOSE_WAIT half itself, its close-wait finding is the warning.
        const selfHeld = pid !== null && cw.length > 0 && cw.every((s) => s.owners.some((o) => o.pid === pid));
        const warn = cw.length >= pairedMin && !context && !selfHeld;
        const isPair = cw.length >= pairedMin;
        const where = `${top.rows.length} ${top.side === 'listener' ? 'on listener' : 'to'} ${top.endpoint}`;
        const scope = context ? ` in this namespace, not to or from the endpoints of pid ${subject!.pid} (${subject!.command})` : '';
        drafts.push({
          pid, score: warn ? cw.length : Math.floor(orphaned.length / 10), count: isPair ? top.rows.length : orphaned.length,
          severity: warn ? ('warning' as const) : ('info' as const),
          message: `${isPair ? top.rows.length : orphaned.length} orphaned FIN_WAIT2 sockets${scope}${isPair ? ` ${top.side === 'listener' ? 'on listener' : 'to'} ${top.endpoint}` : `, ${where}`}${pairText(top.rows)} (${isPair ? 'a peer that does not close' : 'peers that do not close'}${finTimeout === null ? '' : `; they expire after tcp_fin_timeout ${finTimeout}s`}, threshold ${isPair ? `${pairedMin} paired` : min})`,
          evidence: isPair ? [row(top)] : groups.slice(0, evidence).map(row),
        });
      }
      return drafts;
    });
  },
});

interface OrphanGroup { side: 'peer' | 'listener'; endpoint: string; rows: Socket[] }
type HeldGroup = OrphanGroup;

/** Rows grouped by listener (server side) or peer, largest first. */
function group(rows: readonly Socket[], serverSide: (s: Socket) => boolean): OrphanGroup[] {
  const byKey = new Map<string, OrphanGroup>();
  for (const s of rows) {
    const side = serverSide(s) ? 'listener' : 'peer';
    const endpoint = formatEndpoint(side === 'listener' ? s.local : s.remote);
    const key = `${side}\t${endpoint}`;
    const g = byKey.get(key);
    if (g === undefined) byKey.set(key, { side, endpoint, rows: [s] });
    else g.rows.push(s);
  }
  return ranked(new Map([...byKey].map(([k, g]) => [k, g.rows.length]))).map(([k]) => byKey.get(k)!);
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}
