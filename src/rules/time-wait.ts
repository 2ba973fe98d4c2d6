import { attribute, listenPortsByShape, namespaceGroups, portRangeOf, rowsInState, socketsByOwner } from '../model/queries.js';
import type { Socket } from '../model/socket.js';
import { formatEndpoint, percent } from '../util/format.js';
import { ranked } from '../util/group-by.js';
import { serviceName } from '../util/services.js';
import { defineRule } from './rule.js';
import { diagnosedProcess, listensOn, touchesEndpoint } from './subject.js';

const ADVICE =
  'Every closed connection leaves TIME_WAIT for 60 s on the side that closed first. Thousands towards ' +
  'one endpoint mean a new connection per request or query instead of a pool or keep-alive. One source ' +
  'address can hold at most the ephemeral port range in connections to one ip:port; past that, ' +
  'connect() fails with EADDRNOTAVAIL ("cannot assign requested address"). Use a connection pool / ' +
  'HTTP keep-alive. net.ipv4.tcp_tw_reuse (1 = all outgoing, 2 = loopback only) lets connect() reuse ' +
  'TIME_WAIT ports: a stopgap that hides the churn, not a fix; widening ip_local_port_range buys time.';

/** One endpoint TIME_WAIT rows churn against, and what they occupy of the ephemeral range. */
interface Group {
  side: 'peer' | 'listener';
  endpoint: string;
  rows: Socket[];
  /** Rows whose local port is in ip_local_port_range (null: range unknown, or server side). */
  inRange: number | null;
  /** The most in-range ports one source address holds towards the endpoint (what connect() runs out of). */
  worstSource: { address: string; ports: number } | null;
}

/**
 * TIME_WAIT rows of a namespace (they have no owner after close()), grouped by the endpoint they
 * churn against: the remote endpoint on the client side, the local listener on the server side.
 * connect() picks a local port from ip_local_port_range unique per (source address, destination):
 * a group's share of the range is the most in-range local ports one source address holds towards
 * it (ports outside the current range, e.g. taken before it was changed, do not count), so it is
 * never above 100%.
 */
export default defineRule({
  id: 'time-wait',
  severity: 'warning',
  summary: 'TIME_WAIT piling up towards one endpoint, against the ephemeral port range',
  needs: ['socketTables', 'ownerlessRows'],
  defaults: { min: 100, warnPercent: 10, criticalPercent: 50, evidence: 5, listenerPeers: 3 },
  describe: {
    min: 'TIME_WAIT sockets towards one endpoint to report (info)',
    warnPercent: 'warning when one source address holds this share of ip_local_port_range towards one endpoint',
    criticalPercent: 'critical from this share on',
    evidence: 'endpoint groups listed',
    listenerPeers: 'with no LISTEN row, rows sharing a local port with this many distinct peers on ephemeral ports make it a listener',
  },
  advice: ADVICE,
  check(snapshot, { min, warnPercent, criticalPercent, evidence, listenerPeers }) {
    const owned = socketsByOwner(snapshot);
    return namespaceGroups(snapshot).flatMap(({ netns, rows, processes }) => {
      const waiting = rowsInState(rows, 'TIME_WAIT');
      if (waiting.length === 0) return [];
      const range = portRangeOf(snapshot, netns);
      // Listeners: LISTEN rows, or told by the rows' shape when a grep dropped them.
      const listening = new Set(rowsInState(rows, 'LISTEN').map((s) => s.local?.port));
      const inferred = listenPortsByShape(snapshot, rows, listenerPeers, range);
      const listenPorts = { has: (port: number | null | undefined): boolean => listening.has(port) || inferred(port) };
      const size = range === null ? null : range[1] - range[0] + 1;
      const rangeText = range === null ? null : `${range[0]}-${range[1]}`;
      const groups = groupRows(waiting, listenPorts, range);
      if (groups[0]!.rows.length < min) return [];
      const share = (g: Group): number => (size === null || g.worstSource === null ? 0 : (g.worstSource.ports / size) * 100);

      // A live diagnosis: only endpoints its own sockets touch are the process's; the rest of the
      // namespace's TIME_WAIT is context (info, no pid), never its worst problem.
      const subject = diagnosedProcess(processes);
      const mine = subject === null ? [] : (owned.get(subject.pid) ?? []);
      const touches = (g: Group): boolean => (g.side === 'listener' ? listensOn(mine, g.rows[0]!.local) : touchesEndpoint(mine, g.rows[0]!.remote));
      const own = subject === null ? groups : groups.filter((g) => touches(g) && g.rows.length >= min);
      const context = subject !== null && own.length === 0;
      const eligible = context ? groups : own;
      // The headline: the group nearest to running out of ports, else the largest.
      const top = [...eligible].sort((a, b) => share(b) - share(a) || b.rows.length - a.rows.length)[0]!;
      const topShare = context ? 0 : share(top);
      const severity = top.side === 'peer' && topShare >= criticalPercent ? 'critical' : top.side === 'peer' && topShare >= warnPercent ? 'warning' : 'info';
      const pid = subject !== null
        ? (context ? null : subject.pid)
        : attribute(processes, owned, (s) => (top.side === 'peer' ? s.state !== 'LISTEN' && formatEndpoint(s.remote) === top.endpoint : s.state === 'LISTEN' && listensOn([s], top.rows[0]!.local)));

      const svc = serviceName(portOf(top.endpoint));
      const where = `${top.rows.length} ${top.side === 'peer' ? 'to' : 'on listener'} ${top.endpoint}${svc === undefined ? '' : ` (${svc})`}`;
      const used = top.side !== 'peer' || size === null || top.worstSource === null
        ? ''
        : `, ${percent(top.worstSource.ports, size)} of the ${size} ephemeral ports ${rangeText}` +
          (top.inRange === top.rows.length ? '' : ` (${top.inRange} of the ${top.rows.length} have a local port in the range now)`);
      const threshold = top.side !== 'peer' ? `threshold ${min}` : size === null ? `ephemeral range unknown, threshold ${min}` : `threshold ${warnPercent}%`;
      const scope = context ? ` in this namespace, none to or from the endpoints of pid ${subject!.pid} (${subject!.command})` : '';
      const touchesFor = (g: Group): boolean => {
        if (subject !== null) return touches(g);
        const theirs = pid === null ? [] : (owned.get(pid) ?? []);
        return g.side === 'listener' ? listensOn(theirs, g.rows[0]!.local) : touchesEndpoint(theirs, g.rows[0]!.remote);
      };
      const rowsOut = groups.slice(0, evidence).map((g) => ({
        [g.side]: g.endpoint,
        service: serviceName(portOf(g.endpoint)) ?? null,
        count: g.rows.length,
        ...(g.inRange === g.rows.length || g.side === 'listener' || size === null ? {} : { inRange: g.inRange }),
        ephemeralRange: rangeText,
        rangeUsed: size === null || g.side === 'listener' || g.worstSource === null ? null : percent(g.worstSource.ports, size),
        touchesProcess: touchesFor(g),
      }));
      const reuse = snapshot.namespaces.find((n) => n.id === netns)?.sysctls.tcpTwReuse ?? null;
      return [{
        pid,
        score: Math.round(topShare) || Math.min(top.rows.length, 99),
        count: waiting.length,
        severity: severity as 'critical' | 'warning' | 'info',
        message: `${waiting.length} sockets in TIME_WAIT${scope}, ${where}${used} (${threshold})`,
        evidence: rowsOut,
        advice: `${ADVICE} ${twReuseMeaning(reuse)}`,
      }];
    });
  },
});

/** Groups TIME_WAIT rows by endpoint, largest first, with what each holds of the ephemeral range. */
function groupRows(waiting: readonly Socket[], listenPorts: { has(port: number | null | undefined): boolean }, range: [number, number] | null): Group[] {
  const byKey = new Map<string, Group>();
  for (const s of waiting) {
    const side = listenPorts.has(s.local?.port) ? 'listener' : 'peer';
    const endpoint = formatEndpoint(side === 'listener' ? s.local : s.remote);
    const key = `${side}\t${endpoint}`;
    let g = byKey.get(key);
    if (g === undefined) byKey.set(key, (g = { side, endpoint, rows: [], inRange: null, worstSource: null }));
    g.rows.push(s);
  }
  const order = ranked(new Map([...byKey].map(([k, g]) => [k, g.rows.length])));
  return order.map(([k]) => {
    const g = byKey.get(k)!;
    if (range === null || g.side === 'listener') return g;
    const ports = new Map<string, Set<number>>(); // source address -> in-range local ports
    for (const s of g.rows) {
      const port = s.local?.port;
      if (port === undefined || port === null || port < range[0] || port > range[1]) continue;
      const address = s.local!.address;
      const set = ports.get(address);
      if (set === undefined) ports.set(address, new Set([port]));
      else set.add(port);
    }
    g.inRange = [...ports.values()].reduce((n, set) => n + set.size, 0);
    for (const [address, set] of ports) if (g.worstSource === null || set.size > g.worstSource.ports) g.worstSource = { address, ports: set.size };
    g.worstSource ??= { address: '', ports: 0 };
    return g;
  });
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** What the namespace's net.ipv4.tcp_tw_reuse means for these TIME_WAIT rows. */
export function twReuseMeaning(value: number | null): string {
  switch (value) {
    case 0: return 'Here net.ipv4.tcp_tw_reuse = 0 (off): a local port in TIME_WAIT cannot be reused by connect() until it expires, so EADDRNOTAVAIL comes as soon as one source address holds the whole range towards one endpoint.';
    case 1: return 'Here net.ipv4.tcp_tw_reuse = 1: connect() reuses TIME_WAIT ports (after 1 s, with TCP timestamps) for every destination, so TIME_WAIT alone rarely makes connect() fail; the churn still costs a handshake per request.';
    case 2: return 'Here net.ipv4.tcp_tw_reuse = 2 (the default): connect() reuses TIME_WAIT ports for loopback destinations only (127.0.0.0/8, ::1); towards other addresses a port in TIME_WAIT stays taken until it expires.';
    case null: return 'net.ipv4.tcp_tw_reuse of this namespace is unknown.';
    default: return `Here net.ipv4.tcp_tw_reuse = ${value}.`;
  }
}
