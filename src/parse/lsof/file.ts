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
      // words split on single spaces, read in place (a million rows go through here)
      const end = address.length - 1;
      for (let s = open + 1; s <= end;) {
        let e = address.indexOf(' ', s);
        if (e < 0 || e > end) e = end;
        if (e > s) {
          const queue = address.charCodeAt(s) === 81 && address.charCodeAt(s + 2) === 61 ? address.charCodeAt(s + 1) : 0; // "QR=", "QS="
          const digits = e - s - 3;
          if ((queue === 82 || queue === 83) && digits >= 1 && digits <= 15 && isDigitsAt(address, s + 3, e)) {
            const n = Number(address.slice(s + 3, e));
            if (queue === 82) rxQueue = n;
            else txQueue = n;
          } else if (state === null && address.lastIndexOf('=', e - 1) < s) {
            state = address.slice(s, e);
          }
        }
        s = e + 1;
      }
      address = address.slice(0, open).trim();
    }
  }
  return { address, state, rxQueue, txQueue };
}

function isDigitsAt(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
