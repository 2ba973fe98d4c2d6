/**
 * One file of one process as lsof's two output forms give it (the column reader and the -F reader
 * both produce an LsofFile; the builder turns it into records), and the words lsof uses.
 */
import type { TcpState } from '../../model/socket.js';

export interface LsofFile {
  line: number;
  text: string;
  pid: number;
  tid: number | null;
  command: string;
  uid: number | null;
  /** "3" (mode and lock stripped), "*123" (a truncated fd >= 10000), "cwd", "NOFD"; null when -F was asked without "f". */
  fd: string | null;
  type: string;
  /** Socket inode of IPv4/IPv6 rows (DEVICE column, -F "d"). */
  device: string | null;
  /** Inode of other files (NODE column, -F "i"). */
  node: string | null;
  /** Protocol of IPv4/IPv6 rows (NODE column, -F "P"). */
  protocol: string | null;
  name: string;
  /** SIZE/OFF (-F "s"): a size (digits) or an offset ("0t..."); the builder keeps a deleted file's size. */
  size?: string | null;
  /** From "(STATE QR=n QS=n)" or the -F "T" fields. */
  state: string | null;
  rxQueue: number | null;
  txQueue: number | null;
  /** From -F output, where any field may be missing. */
  fromFields?: boolean;
}

/** lsof's TCP state names (dialects/linux/dsock.c) -> kernel names. */
export const LSOF_STATES: Record<string, TcpState> = {
  ESTABLISHED: 'ESTABLISHED', SYN_SENT: 'SYN_SENT', SYN_RECV: 'SYN_RECV', FIN_WAIT1: 'FIN_WAIT1',
  FIN_WAIT2: 'FIN_WAIT2', TIME_WAIT: 'TIME_WAIT', CLOSE: 'CLOSE', CLOSED: 'CLOSE', CLOSE_WAIT: 'CLOSE_WAIT',
  LAST_ACK: 'LAST_ACK', LISTEN: 'LISTEN', CLOSING: 'CLOSING',
};

/** TYPE values that are sockets; those lsof found in a /proc/net table get a socket row. */
export const SOCKET_TYPES = new Set(['IPv4', 'IPv6', 'sock', 'unix', 'netlink', 'raw', 'raw6', 'pack', 'ax25', 'ipx', 'x.25', 'atalk', 'inet', 'inet6', 'key', 'ndrv']);
export const FILE_TYPES = new Set(['REG', 'DIR', 'CHR', 'BLK', 'LINK']);
/** The end of the NAME of a file unlinked while open (`lsof +L1` lists only those). */
export const DELETED = ' (deleted)';

/** A file unlinked while open: NAME "/var/log/app.log (deleted)"; not a memfd ("/memfd:x (deleted)"). */
export function isDeletedName(name: string): boolean {
  return name.endsWith(DELETED) && name.charCodeAt(0) === 47 && !name.startsWith('/memfd:');
}

/** FD words that are no fd number. */
export const NON_FD = /^(cwd|rtd|txt|mem|mmap|ltx|DEL|NOFD|pd|tr|v86|err|jld|m86|Mxx)$/;
/** FD column: a number, the mode (r w u, or blank) and the lock character. */
export const FD_NUMBER = /^(\d{1,10})[rwu]?[rRwWuUNxX]?$/;
/** FD numbers wider than the column: "*000r" is 10000, 11000, ... (the last 3 digits). */
export const FD_TRUNCATED = /^\*(\d{3})[rwu]?[rRwWuUNxX]?$/;

/** "(CLOSE_WAIT QR=1 QS=0)" at the end of an IPv4/IPv6 NAME -> state and queues; the rest is the address text. */
export function splitInetName(name: string): { address: string; state: string | null; rxQueue: number | null; txQueue: number | null } {
  let address = name.trim();
  let state: string | null = null;
  let rxQueue: number | null = null;
  let txQueue: number | null = null;
  if (address.endsWith(')')) {
    const open = address.lastIndexOf('(');
    if (open >= 0) {
      for (const word of address.slice(open + 1, -1).split(' ')) {
        if (word.startsWith('QR=') && /^\d{1,15}$/.test(word.slice(3))) rxQueue = Number(word.slice(3));
        else if (word.startsWith('QS=') && /^\d{1,15}$/.test(word.slice(3))) txQueue = Number(word.slice(3));
        else if (word !== '' && !word.includes('=') && state === null) state = word;
      }
      address = address.slice(0, open).trim();
    }
  }
  return { address, state, rxQueue, txQueue };
}
