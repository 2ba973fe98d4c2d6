/**
 * The socket row an lsof file names: IPv4/IPv6 rows decode to tcp/udp sockets (endpoints, state,
 * queues); unix, netlink, raw and packet rows are sockets lsof found in a /proc/net table. Pure.
 */
import type { Socket, SocketProto, TcpState } from '../../model/socket.js';
import { parseToolEndpoint } from '../endpoint.js';
import { quote } from '../text.js';
import type { LsofFile } from './file.js';
import { LSOF_STATES } from './file.js';

/** TYPE values of sockets that sit in a /proc/net table other than tcp/udp. */
export const TABLE_TYPES: Record<string, SocketProto> = { unix: 'unix', netlink: 'netlink', raw: 'raw', raw6: 'raw', pack: 'packet' };

/** An IPv4/IPv6 row -> a tcp/udp socket; null for other protocols; a string says what is wrong. */
export function inetSocket(f: LsofFile, inode: string | null, source: string): Socket | null | string {
  // -F without "P": a TCP state ("TST") still tells TCP; otherwise the protocol is unknown.
  const protocol = f.protocol ?? (f.state !== null ? 'TCP' : null);
  if (protocol === null) return f.fromFields ? null : `expected the protocol (TCP, UDP) of an ${f.type} row`;
  const proto: SocketProto | null = protocol === 'TCP' ? 'tcp' : protocol === 'UDP' ? 'udp' : protocol === 'UDPLITE' ? 'udplite' : null;
  if (proto === null) return null;
  const family = f.type === 'IPv6' ? 'inet6' : 'inet';
  const arrow = f.name.indexOf('->');
  const localText = arrow < 0 ? f.name : f.name.slice(0, arrow);
  const local = parseToolEndpoint(localText, family);
  if (local === null) return `expected ADDRESS:PORT[->ADDRESS:PORT] in NAME, found ${quote(f.name)}`;
  const remote = arrow < 0 ? null : parseToolEndpoint(f.name.slice(arrow + 2), family);
  if (arrow >= 0 && remote === null) return `expected ADDRESS:PORT after "->", found ${quote(f.name.slice(arrow + 2, arrow + 82))}`;
  let state: TcpState | null = null;
  // No state: `lsof -T` (TCP info off) or -F without "T"; the state is then unknown, not wrong.
  if (proto === 'tcp' && f.state !== null) {
    state = LSOF_STATES[f.state] ?? null;
    if (state === null) return `unknown TCP state ${quote(f.state)}`;
  }
  local.address = shared(local.address);
  if (remote !== null) remote.address = shared(remote.address);
  return {
    proto, family, state,
    detail: proto === 'tcp' ? null : remote === null ? 'UNCONN' : 'ESTAB',
    local, remote,
    rxQueue: f.rxQueue, txQueue: f.txQueue, backlog: null,
    uid: f.uid, inode, owners: [], netns: null,
    origin: { source, line: f.line },
  };
}

/** Addresses seen, each kept once: a big capture repeats a few addresses in every row (memory). */
const ADDRESSES = new Map<string, string>();
const MAX_ADDRESSES = 4096;

/** The one copy of an address text (past MAX_ADDRESSES distinct ones, the text itself). */
function shared(address: string): string {
  const seen = ADDRESSES.get(address);
  if (seen !== undefined) return seen;
  if (ADDRESSES.size < MAX_ADDRESSES) ADDRESSES.set(address, address);
  return address;
}

/** unix, netlink, raw, packet rows: lsof found them in /proc/net, so they are in a table. */
export function tableSocket(f: LsofFile, proto: SocketProto, inode: string, source: string): Socket {
  let local: Socket['local'] = null;
  let detail: string | null = f.name === '' ? null : f.name;
  if (proto === 'unix') {
    // "[path] type=STREAM (LISTEN)" -> "STREAM LISTEN", as parseProcNetUnix says it.
    const m = /^(?:(.*?) )?type=(\S+)(?: \((\S+)\))?$/.exec(f.name);
    if (m !== null) {
      detail = [m[2], m[3] ?? f.state].filter(Boolean).join(' '); // -F gives the state as TST=
      if (m[1] !== undefined && m[1] !== '') local = { address: m[1], port: null };
    } else if (f.name.startsWith('/') || f.name.startsWith('@')) {
      local = { address: f.name, port: null };
      detail = null;
    }
  } else if (proto === 'raw') {
    // "00000000:0001->00000000:0000 st=07": host-order hex like /proc/net/raw; the state is enough.
    const st = /\bst=(\d+)/.exec(f.name)?.[1];
    detail = st === undefined ? detail : st === '01' ? 'ESTAB' : st === '07' ? 'UNCONN' : `st=${st}`;
  }
  const family: Socket['family'] = proto === 'unix' || proto === 'netlink' || proto === 'packet' ? proto : f.type === 'raw6' ? 'inet6' : 'inet';
  return {
    proto, family, state: null, detail, local, remote: null,
    rxQueue: null, txQueue: null, backlog: null, uid: f.uid, inode, owners: [], netns: null,
    origin: { source, line: f.line },
  };
}
