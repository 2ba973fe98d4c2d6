/**
 * ss (iproute2) socket listings: -tanp, -tanpie, -ltn(e), -uanp, -xanp, with or without -H.
 * ss reads inet_diag/unix_diag of its own network namespace; for another process's namespace run it
 * under `nsenter --net=/proc/<pid>/ns/net`. Quirks handled:
 * - a Netid column appears when several protocols are listed (-tu, -x, -a without -t);
 *   the State column disappears with a single `state` filter;
 * - header words contain spaces ("Local Address:Port"): rows are split by tokens, never columns;
 * - addresses split at the LAST ":"; IPv6 in brackets, "*" wildcard, "%lo" interface suffix;
 * - users:(("comm",pid=1,fd=3),("comm2",pid=2,fd=4)) lists every owner (fork shares sockets);
 * - -i/-e continuation lines start with a TAB and belong to the socket above;
 * - LISTEN rows: Recv-Q = accept queue length, Send-Q = backlog limit (min(backlog, somaxconn));
 * - "Failed to find cgroup2 mount" noise (ss -e under ip netns exec) is skipped.
 */
import type { Owner, Socket, SocketProto, TcpState } from '../model/socket.js';
import { normalizeAddress } from '../util/ip.js';
import { LineSink, STRICT } from '../util/skips.js';

/** ss's state words -> kernel names (ss prints UNCONN for TCP_CLOSE). */
const SS_STATES: Record<string, TcpState> = {
  ESTAB: 'ESTABLISHED', 'SYN-SENT': 'SYN_SENT', 'SYN-RECV': 'SYN_RECV', 'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2', 'TIME-WAIT': 'TIME_WAIT', UNCONN: 'CLOSE', 'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK', LISTEN: 'LISTEN', CLOSING: 'CLOSING',
};
const NETIDS: Record<string, SocketProto> = {
  tcp: 'tcp', udp: 'udp', raw: 'raw', mptcp: 'tcp', u_str: 'unix', u_dgr: 'unix', u_seq: 'unix',
  nl: 'netlink', p_raw: 'packet', p_dgr: 'packet', icmp6: 'icmp', udplite: 'udplite',
};
const UNIX_TYPES: Record<string, string> = { u_str: 'STREAM', u_dgr: 'DGRAM', u_seq: 'SEQPACKET' };

export interface SsParseOptions {
  /** Protocol of rows without a Netid column (ss -t: tcp; ss -u: udp). Default: guessed per input. */
  proto?: SocketProto;
  netns?: string | null;
  sink?: LineSink;
}

/** Pure: the sockets of an ss listing. */
export function parseSs(text: string, source: string, options: SsParseOptions = {}): Socket[] {
  const sink = options.sink ?? STRICT();
  const lines = text.split('\n');
  // Without a Netid column, tcp and udp rows look alike; UNCONN only occurs for datagram sockets.
  const defaultProto: SocketProto = options.proto ?? (/^UNCONN\s/m.test(text) ? 'udp' : 'tcp');
  const sockets: Socket[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.startsWith('\t') || raw.trim() === '') continue; // -i/-e continuation of the row above
    if (/^(Netid|State|Recv-Q)\s/.test(raw)) continue; // header
    const socket = parseSsLine(raw, source, i + 1, defaultProto, options.netns ?? null, sink);
    if (socket !== null) sockets.push(socket);
  }
  return sockets;
}

function parseSsLine(raw: string, source: string, lineNo: number, defaultProto: SocketProto, netns: string | null, sink: LineSink): Socket | null {
  const bad = (reason: string): null => {
    sink.bad(reason, source, lineNo, raw);
    return null;
  };
  let line = raw;
  const owners: Owner[] = [];
  const users = /users:\((.*?\))\)/.exec(line);
  if (users !== null) {
    for (const m of users[1]!.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)/g)) {
      owners.push({ command: m[1]!, pid: Number(m[2]), fd: Number(m[3]) });
    }
    line = line.slice(0, users.index) + line.slice(users.index + users[0].length);
  }
  const tokens = line.trim().split(/\s+/);
  let i = 0;
  let proto = defaultProto;
  let unixType: string | undefined;
  if (NETIDS[tokens[0]!] !== undefined) {
    proto = NETIDS[tokens[0]!]!;
    unixType = UNIX_TYPES[tokens[0]!];
    i++;
  }
  let stateWord: string | undefined;
  if (SS_STATES[tokens[i]!] !== undefined) stateWord = tokens[i++];
  const recvQ = tokens[i++];
  const sendQ = tokens[i++];
  if (recvQ === undefined || sendQ === undefined || !/^\d+$/.test(recvQ) || !/^\d+$/.test(sendQ)) {
    return bad('expected "[Netid] [State] Recv-Q Send-Q Local Peer" with numeric queues');
  }
  let local: Socket['local'];
  let remote: Socket['remote'];
  let inode: string | null = null;
  if (proto === 'unix') {
    // "path inode peer peer-inode": the unix "port" is the socket inode.
    const [lpath, lino, ppath, pino] = tokens.slice(i, i + 4);
    if (pino === undefined || !/^\d+$/.test(lino!) || !/^\d+$/.test(pino)) return bad('expected "Local Inode Peer Inode" for a unix socket');
    i += 4;
    local = lpath === '*' ? null : { address: lpath!, port: null };
    remote = ppath === '*' ? null : { address: ppath!, port: null };
    inode = lino!;
  } else {
    const l = splitHostPort(tokens[i++]);
    const r = splitHostPort(tokens[i++]);
    if (l === null || r === null) return bad('expected local and peer as ADDRESS:PORT');
    local = l;
    remote = r;
  }
  let uid: number | null = null;
  for (const token of tokens.slice(i)) {
    if (token.startsWith('ino:')) inode = token.slice(4);
    else if (token.startsWith('uid:')) uid = Number(token.slice(4));
  }
  if (inode !== null && !/^\d+$/.test(inode)) return bad(`expected a decimal inode, found "${inode}"`);
  const state = stateWord === undefined ? null : SS_STATES[stateWord]!;
  const isTcp = proto === 'tcp';
  const family = proto === 'unix' ? 'unix' : local?.address.includes(':') ? 'inet6' : 'inet';
  const isListen = state === 'LISTEN';
  return {
    proto,
    family: proto === 'netlink' || proto === 'packet' ? proto : family,
    state: isTcp ? state : null,
    detail: isTcp ? null : [unixType, stateWord].filter(Boolean).join(' ') || null,
    local,
    remote: isListen && isTcp ? null : remote,
    rxQueue: Number(recvQ),
    txQueue: isListen ? null : Number(sendQ),
    backlog: isListen ? Number(sendQ) : null,
    uid,
    inode,
    owners,
    netns,
    origin: { source, line: lineNo },
  };
}

/** "127.0.0.1:80", "[::1]:443", "*:*", "127.0.0.1%lo:53", "[::ffff:1.2.3.4]:5" -> endpoint; bad -> null. */
export function splitHostPort(token: string | undefined): { address: string; port: number } | null {
  if (token === undefined) return null;
  const colon = token.lastIndexOf(':');
  if (colon <= 0) return null;
  let host = token.slice(0, colon);
  const portText = token.slice(colon + 1);
  const port = portText === '*' ? 0 : /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) return null;
  const bracketed = host.startsWith('[') && host.endsWith(']');
  if (bracketed) host = host.slice(1, -1);
  const pct = host.indexOf('%');
  if (pct >= 0) host = host.slice(0, pct);
  const family = bracketed || host.includes(':') ? 'inet6' : host === '*' ? null : 'inet';
  return { address: normalizeAddress(host, family ?? 'inet'), port };
}

/** Arguments for the listener backlog query: no header, listeners, numeric, with inodes. */
export const SS_LISTEN_ARGS = ['-H', '-l', '-t', '-n', '-e'] as const;

/**
 * Runs `ss -Hltne` (under nsenter for another network namespace) and returns backlog limits by
 * socket inode; null when ss is missing, fails, or the namespace cannot be entered (say unknown).
 */
export async function runSsListenBacklogs(netnsPath: string | null, timeoutMs = 5000): Promise<Map<string, number> | null> {
  const { execa } = await import('execa');
  const [cmd, args] = netnsPath === null ? ['ss', [...SS_LISTEN_ARGS]] : ['nsenter', [`--net=${netnsPath}`, 'ss', ...SS_LISTEN_ARGS]];
  try {
    const result = await execa(cmd, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
    if (result.exitCode !== 0 || typeof result.stdout !== 'string') return null;
    const sink = new LineSink(false);
    const out = new Map<string, number>();
    for (const s of parseSs(result.stdout, `${cmd} ${args.join(' ')}`, { proto: 'tcp', sink })) {
      if (s.inode !== null && s.backlog !== null) out.set(s.inode, s.backlog);
    }
    return out;
  } catch {
    return null;
  }
}
