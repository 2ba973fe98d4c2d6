/**
 * ss (iproute2) socket listings: -tanp, -tanpie, -ltn(e), -uanp, -xanp, -tuanp, -tanpT, with or
 * without -H, with or without -n. ss reads inet_diag/unix_diag of its own network namespace; for
 * another process's namespace run it under `nsenter --net=/proc/<pid>/ns/net`. Quirks handled:
 * - a Netid column appears when several protocols are listed (-tu, -x, -a without -t);
 *   the State column disappears with a single `state` filter (rows then have no state);
 * - header words contain spaces ("Local Address:Port", glued "Peer Address:PortProcess"): rows are
 *   split by tokens, never columns;
 * - addresses split at the LAST ":"; IPv6 in brackets, v4-mapped "[::ffff:127.0.0.1]", "%lo"
 *   interface suffix; "*" is the dual-stack IPv6 wildcard (v6only:0); a peer "*:*" / "0.0.0.0:*"
 *   means no peer; without -n hosts and ports are names ("localhost:mysql");
 * - users:(("comm",pid=1,fd=3),("comm2",pid=2,fd=4)) lists every owner (fork shares sockets),
 *   -T adds tid= and repeats a (pid, fd) per thread: owners are unique by (pid, fd);
 * - unix rows are "path inode peer-path peer-inode"; a path may contain spaces, "*" is unnamed;
 * - -i/-e continuation lines start with a TAB and belong to the socket above;
 * - LISTEN rows: Recv-Q = accept queue length, Send-Q = backlog limit (min(backlog, somaxconn));
 * - "Failed to find cgroup2 mount" noise (ss -e under ip netns exec) is skipped.
 */
import type { Endpoint, Owner, Socket, SocketProto, TcpState } from '../model/socket.js';
import { parseToolEndpoint } from './endpoint.js';
import { MAX_LINE, quote, stripCr } from './text.js';
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
  sctp: 'other', tipc: 'other', v_str: 'other', v_dgr: 'other', xdp: 'other',
};
const UNIX_TYPES: Record<string, string> = { u_str: 'STREAM', u_dgr: 'DGRAM', u_seq: 'SEQPACKET' };
/** ss's words for unix sockets -> /proc/net/unix's (as parseProcNetUnix writes them). */
const UNIX_STATES: Record<string, string> = { ESTAB: 'CONNECTED', UNCONN: 'UNCONNECTED', 'SYN-SENT': 'CONNECTING', LISTEN: 'LISTEN' };

export interface SsParseOptions {
  /** Protocol of rows without a Netid column (ss -t: tcp; ss -u: udp). Default: guessed per input. */
  proto?: SocketProto;
  netns?: string | null;
  sink?: LineSink;
  /** State of tcp rows that have none: ss drops the State column when one `state` filter is given. */
  state?: TcpState;
}

/** ss's `state` filter words (ss(8), STATE-FILTER) that name one TCP state. */
const FILTER_STATES: Record<string, TcpState> = {
  established: 'ESTABLISHED', 'syn-sent': 'SYN_SENT', 'syn-recv': 'SYN_RECV', 'fin-wait-1': 'FIN_WAIT1', 'fin-wait-2': 'FIN_WAIT2',
  'time-wait': 'TIME_WAIT', closed: 'CLOSE', 'close-wait': 'CLOSE_WAIT', 'last-ack': 'LAST_ACK', listening: 'LISTEN', closing: 'CLOSING',
};

/**
 * A TCP state as a user names it: ss's filter word ("close-wait"), ss's column word ("CLOSE-WAIT"),
 * the kernel's name ("CLOSE_WAIT"), any case; undefined for anything else.
 */
export function tcpStateNamed(word: string): TcpState | undefined {
  const w = word.toUpperCase().replace(/-/g, '_').replace(/^FIN_WAIT_([12])$/, 'FIN_WAIT$1');
  const aliases: Record<string, TcpState> = { ESTAB: 'ESTABLISHED', LISTENING: 'LISTEN', CLOSED: 'CLOSE', UNCONN: 'CLOSE' };
  return aliases[w] ?? (Object.values(SS_STATES).includes(w as TcpState) ? (w as TcpState) : undefined);
}

/**
 * The one state an ss command line filters on (`ss -tnp state close-wait`), or undefined: none, or
 * several (`state connected`, two `state` words, `exclude`), when rows keep or cannot be given one.
 */
export function ssStateFilter(commandLine: string): TcpState | undefined {
  const words = commandLine.trim().split(/\s+/);
  if (words.includes('exclude')) return undefined;
  const states = words.flatMap((w, i) => (w === 'state' && words[i + 1] !== undefined ? [words[i + 1]!] : []));
  if (states.length !== 1) return undefined;
  return FILTER_STATES[states[0]!.toLowerCase()];
}

/**
 * Pure: the sockets of an ss listing, one per socket line (continuation lines are folded in).
 * `LISTEN 3 8 127.0.0.1:47001 0.0.0.0:* users:(("bl-srv",pid=9446,fd=3)) ino:367608` ->
 * { state: 'LISTEN', rxQueue: 3, backlog: 8, local: 127.0.0.1:47001, remote: null, inode: '367608', owners: [bl-srv 9446 fd 3] }
 */
export function parseSs(text: string, source: string, options: SsParseOptions = {}): Socket[] {
  const sink = options.sink ?? STRICT();
  const lines = text.split('\n');
  // Without a Netid column, tcp and udp rows look alike; UNCONN only occurs for datagram sockets.
  const defaultProto: SocketProto = options.proto ?? (/^UNCONN\s/m.test(text) ? 'udp' : 'tcp');
  const sockets: Socket[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    if (raw.length > MAX_LINE) {
      sink.bad(`line longer than ${MAX_LINE} characters`, source, i + 1, raw);
      continue;
    }
    if (raw.startsWith('\t') || raw.trim() === '') continue; // -i/-e continuation of the row above
    if (/^(Netid|State|Recv-Q)\s/.test(raw)) continue; // header
    if (raw.startsWith('Failed to find cgroup2 mount')) continue; // ss -e stderr noise
    const socket = parseSsLine(raw, source, i + 1, defaultProto, options.netns ?? null, sink, options.state ?? null);
    if (socket !== null) sockets.push(socket);
  }
  return sockets;
}

function parseSsLine(raw: string, source: string, lineNo: number, defaultProto: SocketProto, netns: string | null, sink: LineSink, filtered: TcpState | null): Socket | null {
  const bad = (reason: string): null => {
    sink.bad(reason, source, lineNo, raw);
    return null;
  };
  let line = raw;
  let owners: Owner[] = [];
  const usersAt = line.indexOf('users:(');
  if (usersAt >= 0) {
    const users = parseUsers(line, usersAt + 'users:('.length);
    if (users === null) return bad('expected users:(("command",pid=N,fd=N),...)');
    owners = users.owners;
    line = `${line.slice(0, usersAt)} ${line.slice(users.end)}`;
  }
  const tokens = line.trim().split(/\s+/);
  let i = 0;
  let proto = defaultProto;
  let netid: string | undefined;
  if (NETIDS[tokens[0]!] !== undefined) {
    netid = tokens[0]!;
    proto = NETIDS[netid]!;
    i++;
  }
  let stateWord: string | undefined;
  if (SS_STATES[tokens[i]!] !== undefined) stateWord = tokens[i++];
  const recvQ = tokens[i++];
  const sendQ = tokens[i++];
  if (recvQ === undefined || sendQ === undefined || !/^\d{1,15}$/.test(recvQ) || !/^\d{1,15}$/.test(sendQ)) {
    return bad('expected "[Netid] [State] Recv-Q Send-Q Local Peer" with numeric queues');
  }
  let local: Socket['local'] = null;
  let remote: Socket['remote'] = null;
  let inode: string | null = null;
  let detail: string | null = null;
  if (proto === 'unix') {
    // "path inode peer-path peer-inode": the unix "port" is the socket inode; paths may hold spaces.
    let j = i;
    while (j < tokens.length && !/^\d+$/.test(tokens[j]!)) j++;
    let k = j + 1;
    while (k < tokens.length && !/^\d+$/.test(tokens[k]!)) k++;
    if (j === i || k >= tokens.length || k === j + 1) return bad('expected "Local Inode Peer Inode" for a unix socket');
    const lpath = tokens.slice(i, j).join(' ');
    const ppath = tokens.slice(j + 1, k).join(' ');
    local = lpath === '*' ? null : { address: lpath, port: null };
    remote = ppath === '*' ? null : { address: ppath, port: null };
    inode = tokens[j]!;
    i = k + 1;
    const type = netid === undefined ? undefined : UNIX_TYPES[netid];
    const st = stateWord === undefined ? undefined : (UNIX_STATES[stateWord] ?? stateWord);
    detail = [type, st].filter(Boolean).join(' ') || null;
  } else if (proto === 'netlink' || proto === 'packet' || proto === 'other') {
    // "rtnl:kernel *", "*:eth0 *": not host:port pairs; keep the text for the reader.
    if (tokens[i] === undefined || tokens[i + 1] === undefined) return bad('expected local and peer addresses');
    detail = [stateWord, tokens[i]].filter(Boolean).join(' ');
    i += 2;
  } else {
    const l = parseToolEndpoint(tokens[i++], 'ss');
    const r = parseToolEndpoint(tokens[i++], 'ss');
    if (l === null || r === null) return bad('expected local and peer as ADDRESS:PORT');
    local = l;
    remote = tokens[i - 1]!.endsWith(':*') ? null : r; // "0.0.0.0:*", "*:*", "[::]:*": no peer
  }
  let uid: number | null = null;
  let v6only: string | undefined;
  for (const token of tokens.slice(i)) {
    if (token.startsWith('ino:')) inode = token.slice(4);
    else if (token.startsWith('uid:')) uid = /^\d{1,10}$/.test(token.slice(4)) ? Number(token.slice(4)) : null;
    else if (token.startsWith('v6only:')) v6only = token.slice(7);
  }
  if (inode !== null && !/^\d+$/.test(inode)) return bad(`expected a decimal inode, found ${quote(inode)}`);
  const state = stateWord === undefined ? filtered : SS_STATES[stateWord]!;
  const isTcp = proto === 'tcp';
  const isListen = state === 'LISTEN';
  let family: Socket['family'];
  if (proto === 'unix' || proto === 'netlink' || proto === 'packet') family = proto;
  else if (proto === 'other') family = null;
  else family = local !== null && (local.address.includes(':') || v6only !== undefined) ? 'inet6' : 'inet';
  if (proto !== 'unix' && proto !== 'netlink' && proto !== 'packet' && proto !== 'other') {
    detail = isTcp ? null : stateWord === undefined ? null : stateWord === 'UNCONN' ? 'UNCONN' : stateWord === 'ESTAB' ? 'ESTAB' : stateWord;
  }
  return {
    proto,
    family,
    state: isTcp ? state : null,
    detail,
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

/**
 * Reads `("comm",pid=1,fd=3),("comm2",pid=2,tid=9,fd=4))` from `start` (just after "users:(").
 * Linear scan: a command may contain anything but the `",pid=` that ends it.
 */
function parseUsers(line: string, start: number): { owners: Owner[]; end: number } | null {
  const owners: Owner[] = [];
  const seen = new Set<string>();
  let pos = start;
  for (;;) {
    if (line[pos] !== '(' || line[pos + 1] !== '"') return null;
    const close = line.indexOf('",', pos + 2);
    if (close < 0) return null;
    const command = line.slice(pos + 2, close);
    pos = close + 2;
    const end = line.indexOf(')', pos);
    if (end < 0) return null;
    let pid: number | undefined;
    let fd: number | undefined;
    let tid: number | undefined;
    for (const kv of line.slice(pos, end).split(',')) {
      const eq = kv.indexOf('=');
      const key = kv.slice(0, eq);
      const value = kv.slice(eq + 1);
      if (eq < 0 || !/^\d{1,10}$/.test(value)) return null;
      if (key === 'pid') pid = Number(value);
      else if (key === 'fd') fd = Number(value);
      else if (key === 'tid') tid = Number(value);
    }
    if (pid === undefined || pid === 0) return null;
    const key = `${pid}:${fd ?? ''}`;
    if (!seen.has(key)) {
      seen.add(key);
      owners.push({ command, pid, fd: fd ?? null });
    } else if (tid === pid) {
      // ss -T lists each thread with its own comm: the main thread's names the process.
      owners.find((o) => o.pid === pid && o.fd === (fd ?? null))!.command = command;
    }
    pos = end + 1;
    if (line[pos] === ',') { pos++; continue; }
    if (line[pos] === ')') return { owners, end: pos + 1 };
    return null;
  }
}
