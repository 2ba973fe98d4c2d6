/**
 * What an fd is, from strace's `-y` decoration of it (strace 6.1, Linux 6.x): `socket:[4883286]`,
 * `pipe:[121925]`, `anon_inode:[eventfd]`, `/etc/hosts`; and the richer `-yy` forms, decoded too:
 *   TCP:[4883286]                       a TCP socket before connect/bind (the inode)
 *   TCP:[127.0.0.1:52085->127.0.0.1:56298]  local->peer once connected; TCP:[127.0.0.1:52085] bound
 *   TCPv6:[...] UDP:[...] UDPv6:[...] UNIX-STREAM:[121923->121924] UNIX:[5,"/run/x.sock"] NETLINK:[...]
 *   pipe:[121925]   anon_inode:[eventfd]   anon_inode:inotify   /etc/hosts   /memfd:buf   /dev/null<char 1:3>
 */
import type { FdKind } from '../model/fd.js';

export interface FdWhat {
  kind: FdKind;
  /** Singular noun for the report: "TCP socket", "pipe", "file", "eventfd". */
  label: string;
  /** The inode for sockets and pipes when strace printed it; null otherwise. */
  inode: string | null;
  /** Local address of a bound or connected socket, path of a file; null when unknown. */
  local: string | null;
  /** Peer of a connected socket; null when unknown. */
  peer: string | null;
}

const SOCKET_LABELS: Record<string, string> = {
  TCP: 'TCP socket', TCPv6: 'TCPv6 socket', UDP: 'UDP socket', UDPv6: 'UDPv6 socket', UDPLITE: 'UDP-Lite socket',
  UNIX: 'unix socket', 'UNIX-STREAM': 'unix stream socket', 'UNIX-DGRAM': 'unix datagram socket',
  'UNIX-SEQPACKET': 'unix seqpacket socket', NETLINK: 'netlink socket', PACKET: 'packet socket', RAW: 'raw socket',
  RAWv6: 'raw socket', PING: 'ping socket', PINGv6: 'ping socket',
};

/** Decodes one `-yy` decoration (the text between `<` and `>`); null gives an unknown fd. */
export function fdWhat(deco: string | null): FdWhat {
  if (deco === null || deco === '') return { kind: 'other', label: 'fd', inode: null, local: null, peer: null };
  if (deco.startsWith('/')) {
    const nested = deco.indexOf('<'); // "/dev/null<char 1:3>"
    const path = nested > 0 ? deco.slice(0, nested) : deco;
    if (path.startsWith('/memfd:')) return { kind: 'file', label: 'memfd', inode: null, local: path, peer: null };
    return { kind: 'file', label: nested > 0 ? 'device' : 'file', inode: null, local: path, peer: null };
  }
  if (deco.startsWith('anon_inode:')) {
    const type = deco.slice('anon_inode:'.length).replace(/^\[|\]$/g, '');
    return { kind: 'anon_inode', label: type, inode: null, local: null, peer: null };
  }
  const m = /^([A-Za-z0-9-]+):\[(.*)\]$/.exec(deco);
  if (m === null) return { kind: 'other', label: 'fd', inode: null, local: deco, peer: null };
  const [, type, inner] = m as unknown as [string, string, string];
  if (type === 'socket') return { kind: 'socket', label: 'socket', inode: /^\d+$/.test(inner) ? inner : null, local: null, peer: null };
  if (type === 'pipe') return { kind: 'pipe', label: 'pipe', inode: /^\d+$/.test(inner) ? inner : null, local: null, peer: null };
  const label = SOCKET_LABELS[type] ?? `${type} socket`;
  if (/^\d+$/.test(inner)) return { kind: 'socket', label, inode: inner, local: null, peer: null };
  if (type.startsWith('UNIX')) {
    // UNIX:[5,"/run/x.sock"] or UNIX-STREAM:[121923->121924] (inode->peer inode)
    const path = /"((?:[^"\\]|\\.)*)"/.exec(inner);
    const inode = /^(\d+)/.exec(inner);
    return { kind: 'socket', label, inode: inode === null ? null : inode[1]!, local: path === null ? null : path[1]!, peer: null };
  }
  const arrow = inner.indexOf('->');
  return arrow < 0
    ? { kind: 'socket', label, inode: null, local: inner, peer: null }
    : { kind: 'socket', label, inode: null, local: inner.slice(0, arrow), peer: inner.slice(arrow + 2) };
}

/**
 * With `-y` (not `-yy`: that asks the kernel's sock_diag for every socket printed, a dump of the
 * whole namespace's table each time on a busy host) a socket shows as `socket:[123]`; its protocol
 * comes from socket()'s arguments: `AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP` -> "TCP socket".
 */
export function socketLabel(family: string, type: string): string {
  const t = type.includes('SOCK_STREAM') ? 'stream' : type.includes('SOCK_DGRAM') ? 'dgram' : type.includes('SOCK_SEQPACKET') ? 'seqpacket' : type.includes('SOCK_RAW') ? 'raw' : 'other';
  if (family === 'AF_INET' || family === 'AF_INET6') {
    const v6 = family === 'AF_INET6' ? 'v6' : '';
    return t === 'stream' ? `TCP${v6} socket` : t === 'dgram' ? `UDP${v6} socket` : t === 'raw' ? 'raw socket' : `${family} socket`;
  }
  if (family === 'AF_UNIX' || family === 'AF_LOCAL') return t === 'stream' ? 'unix stream socket' : t === 'dgram' ? 'unix datagram socket' : t === 'seqpacket' ? 'unix seqpacket socket' : 'unix socket';
  if (family === 'AF_NETLINK') return 'netlink socket';
  if (family === 'AF_PACKET') return 'packet socket';
  return `${family.replace(/^AF_/, '')} socket`;
}

/** Plural of a label: "TCP socket" -> "TCP sockets", "memfd" -> "memfds". */
export function plural(label: string, n: number): string {
  return n === 1 ? label : `${label}s`;
}
