import { closeWaitCandidates, isUnnamedOwner, listenerCovers, listenPortsByShape, namespaceGroups, portRangeOf, rowsInState } from '../model/queries.js';
import type { CloseWaitGroup } from '../model/folded.js';
import type { Socket } from '../model/socket.js';
import { ranked } from '../util/group-by.js';
import { formatEndpoint } from '../util/format.js';
import { serviceName } from '../util/services.js';
import { holders, otherHalf, rowsByTuple } from './halves.js';
import type { Draft } from './rule.js';
import { defineRule } from './rule.js';
import { diagnosedProcess } from './subject.js';

const ADVICE =
  'CLOSE_WAIT never times out: the peer closed its side and the kernel is waiting for this process ' +
  'to call close(). Look for code paths that return or throw without closing: error and timeout ' +
  'handlers, a response body that is never read to the end or closed (Go: resp.Body.Close(); ' +
  'Java: try-with-resources), connections taken from a pool and not returned. Behind a proxy ' +
  '(nginx, a load balancer) the peer is the proxy closing idle upstream connections.';

/** The peer hung up and this process never called close(): usually a leak on an error path. */
export default defineRule({
  id: 'close-wait',
  severity: 'warning',
  summary: 'sockets stuck in CLOSE_WAIT: the peer closed, the process never called close()',
  needs: ['socketTables'],
  defaults: { min: 10, critical: 1000, evidence: 5, listenerPeers: 3 },
  describe: {
    min: 'CLOSE_WAIT sockets one process (or the rows without a named owner) must hold to fire',
    critical: 'critical from this many on',
    evidence: 'peer groups listed',
    listenerPeers: 'with no LISTEN row, rows sharing a local port with this many distinct peers on ephemeral ports make it a listener',
  },
  advice: ADVICE,
  check(snapshot, { min, critical, evidence, listenerPeers }) {
    // A live diagnosis may hold other processes' CLOSE_WAIT rows (the other half of its FIN_WAIT2):
    // judge only the diagnosed process then. (A capture judges every owner it names, as before.)
    const subject = snapshot.kind === 'live' ? diagnosedProcess(snapshot.processes) : null;
    const groups = namespaceGroups(snapshot);
    // FIN_WAIT2 rows of each namespace, by tuple: the other half of a CLOSE_WAIT row.
    const finWait2 = new Map(groups.map(({ netns, rows }) => [netns, rowsByTuple(rows, 'FIN_WAIT2')]));
    // Listener ports of each namespace told by the rows' shape (a grep that dropped the LISTEN rows).
    const inferred = new Map(groups.map(({ netns, rows }) => [netns, listenPortsByShape(snapshot, rows, listenerPeers, portRangeOf(snapshot, netns))]));
    const netnsOf = new Map(snapshot.processes.map((p) => [p.pid, p.netns]));
    const halvesOf = (netns: string | null): Map<string, Socket> => finWait2.get(netns) ?? finWait2.get(null) ?? new Map<string, Socket>();
    // `folded`: the owner's folded CLOSE_WAIT rows, grouped by the fold as keyOf() groups records
    const judge = (pid: number | null, netns: string | null, sockets: readonly Socket[], listenPorts: ReadonlySet<number | null | undefined>, folded?: (isServerPort: (port: number) => boolean) => CloseWaitGroup[]): Draft[] => {
      const halves = halvesOf(netns);
      const guessed = inferred.get(netns) ?? inferred.get(null) ?? ((): boolean => false);
      const stuck = rowsInState(sockets, 'CLOSE_WAIT');
      if (folded === undefined && stuck.length < min) return [];
      // Server side (local port is a listener's): peers are clients on ephemeral ports, so group by
      // client address and listener; client side: group by the remote endpoint.
      const isServerPort = (port: number | null | undefined): boolean => listenPorts.has(port) || guessed(port);
      const serverSide = (s: Socket): boolean => isServerPort(s.local?.port);
      const keyOf = (s: Socket): string =>
        serverSide(s) ? `server\t${s.remote?.address ?? '?'}\t${s.local?.port}` : `client\t${formatEndpoint(s.remote)}`;
      // Each row's key and other half once, not again for each evidence group (a key string per row
      // per group): a diagnose with 1,000 CLOSE_WAIT under --cpu-prof, 3 runs: judge 6 ms instead of 14.
      // Folded rows come grouped (a key string per group, not per row: 270,000 rows of a 1M-line capture).
      const byKey = new Map<string, Group>();
      for (const s of stuck) {
        const rx = s.rxQueue ?? 0;
        addTo(byKey, keyOf(s), 1, rx > 0 ? 1 : 0, Math.max(rx - 1, 0)).members.push(s);
      }
      const foldedGroups = folded?.(isServerPort) ?? [];
      for (const f of foldedGroups) {
        const key = f.server ? `server\t${f.remote}\t${f.port}` : `client\t${formatEndpoint({ address: f.remote, port: f.port })}`;
        addTo(byKey, key, f.count, f.unread, f.unreadBytes);
      }
      const total = foldedGroups.reduce((n, f) => n + f.count, stuck.length);
      if (total < min) return [];
      const ranks = ranked(new Map([...byKey].map(([key, g]) => [key, g.count])));
      const halfOf = halves.size === 0 ? undefined : new Map(stuck.map((s) => [s, otherHalf(halves, s)]));
      const noListenerRow = stuck.some((s) => serverSide(s) && !listenPorts.has(s.local?.port)) || foldedGroups.some((f) => f.server && !listenPorts.has(f.port));
      type Row = { peer: string; listener?: string; service: string | null; count: number; unreadSockets?: number; unreadBytes?: number; finWait2Peers?: number };
      const rows: Row[] = ranks.slice(0, evidence).map(([key, count]) => {
        const [side, a, port] = key.split('\t') as [string, string, string | undefined];
        const group = byKey.get(key)!;
        const halvesHere = halfOf === undefined ? 0 : group.members.filter((s) => halfOf.get(s) !== undefined).length;
        const extra = {
          ...(group.unread > 0 ? { unreadSockets: group.unread, unreadBytes: group.unreadBytes } : {}),
          ...(halvesHere > 0 ? { finWait2Peers: halvesHere } : {}),
        };
        if (side === 'server') {
          return { peer: a, listener: `:${port}`, service: serviceName(Number(port)) ?? null, count, ...extra };
        }
        const peerPort = Number(a.slice(a.lastIndexOf(':') + 1));
        return { peer: a, service: serviceName(peerPort) ?? null, count, ...extra };
      });
      let unreadCount = 0;
      let unreadBytes = 0;
      for (const g of byKey.values()) {
        unreadCount += g.unread;
        unreadBytes += g.unreadBytes;
      }
      const fin = halfOf === undefined ? [] : stuck.flatMap((s) => halfOf.get(s) ?? []);
      const top = rows[0]!;
      const topText = top.listener === undefined
        ? `${top.peer}${top.service === null ? '' : ` (${top.service})`}`
        : `clients ${top.peer} of listener ${top.listener}${top.service === null ? '' : ` (${top.service})`}`;
      const share = ranks.length === 1 ? 'all' : `${top.count}`;
      const owner = pid === null ? ' held by an owner this input does not name' : '';
      return [{
        pid, score: total, count: total,
        severity: total >= critical ? ('critical' as const) : undefined,
        message: `${total} sockets in CLOSE_WAIT${owner}, ${share} of them ${top.listener === undefined ? 'to' : 'from'} ${topText}`
          + (noListenerRow ? ' (no LISTEN row in the data: listener told by its many clients on ephemeral ports)' : '')
          + (unreadCount === 0 ? '' : `, ${unreadCount === total ? 'all' : unreadCount} never read to the end (${unreadBytes} bytes of data and the peer's FIN left in Recv-Q)`)
          + (fin.length === 0 ? '' : `, the other half of the ${fin.length} FIN_WAIT2 held by ${holders(fin, snapshot.processes)}`)
          + ` (threshold ${min})`,
        evidence: rows.map((r) => ({ ...r })),
        ...(pid === null && unreadCount === 0 ? { advice: `${ADVICE} ${whoHolds(top)}` } : {}),
        ...(unreadCount === 0 ? {} : {
          advice: `${ADVICE}${pid === null ? ` ${whoHolds(top)}` : ''} Here ${unreadCount} of the ${total} were never read to the end (Recv-Q > 0: not even the EOF was read): the application stopped reading them, not only closing. ` +
            'A handler is blocked or deadlocked before it read the request (waiting on a lock, a pool, an upstream): look at what those threads or tasks wait on, not only at close() on error paths.',
        }),
      }];
    };
    // The sockets of each owner (a large capture's folded CLOSE_WAIT rows made one owner at a time).
    const owned = closeWaitCandidates(snapshot).flatMap(([pid, records, fold]) => {
      if (subject !== null && pid !== subject.pid) return [];
      const netns = netnsOf.get(pid) ?? null;
      const listenPorts = new Set(rowsInState(records, 'LISTEN').map((s) => s.local?.port));
      if (fold === undefined) return judge(pid, netns, records, listenPorts);
      // each row's other half is looked up by its record: with FIN_WAIT2 rows about, the records
      if (halvesOf(netns).size > 0) return judge(pid, netns, records.concat(fold.closeWaitOf(pid)), listenPorts);
      return judge(pid, netns, records, listenPorts, (isServerPort) => fold.closeWaitGroups(pid, isServerPort));
    });
    // Captured text whose rows name no owner (netstat or ss without -p, /proc/net/tcp): still an
    // incident, with pid null, grouped on the namespace's listeners. Inode 0 rows were never
    // accepted (accept-backlog's); a live diagnosis judges its own process only.
    // Rows on a listener with a non-empty accept queue may be its unaccepted children (accept-backlog's).
    const ownerless = snapshot.kind === 'live' ? [] : groups.flatMap(({ netns, rows }) => {
      const listeners = rowsInState(rows, 'LISTEN');
      const queued = listeners.filter((l) => (l.rxQueue ?? 0) > 0);
      const unnamed = rows.filter((s) => isUnnamedOwner(s) && !queued.some((l) => listenerCovers(l, s.local)));
      return judge(null, netns, unnamed, new Set(listeners.map((s) => s.local?.port)));
    });
    return owned.concat(ownerless);
  },
});

/** How to find the process behind rows that name no owner. */
function whoHolds(top: { peer: string; listener?: string }): string {
  const port = top.listener === undefined ? top.peer.slice(top.peer.lastIndexOf(':') + 1) : top.listener.slice(1);
  return `These rows name no owner: find the process with \`ss -tnp state close-wait\` or \`lsof -nP -iTCP:${port} -sTCP:CLOSE_WAIT\` (as root).`;
}

/** CLOSE_WAIT rows of one evidence group: the records among them (`members`: folded rows have none). */
interface Group { count: number; unread: number; unreadBytes: number; members: Socket[] }

/**
 * Adds rows to the group of `key`. Data bytes left unread in CLOSE_WAIT rows: their rx_queue (Recv-Q)
 * is rcv_nxt - copied_seq, and the peer's FIN takes one sequence number that only reading EOF
 * consumes: a row with rx_queue > 0 holds rx_queue - 1 bytes of data and the FIN (ioctl SIOCINQ
 * subtracts it the same way).
 */
function addTo(groups: Map<string, Group>, key: string, count: number, unread: number, unreadBytes: number): Group {
  let g = groups.get(key);
  if (g === undefined) groups.set(key, (g = { count: 0, unread: 0, unreadBytes: 0, members: [] }));
  g.count += count;
  g.unread += unread;
  g.unreadBytes += unreadBytes;
  return g;
}
