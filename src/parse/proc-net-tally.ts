/**
 * The count-only reading of the /proc/net socket tables that `fdleak scan` makes of every
 * namespace: the inode of each row, rows per family, and for tcp/tcp6 the state and (LISTEN and
 * TIME_WAIT rows) the endpoints. The same files as proc-net-inet.ts, proc-net-unix.ts and
 * proc-net-other.ts parse in full for `diagnose`, with the same layout (below), the same state
 * codes (model/socket.ts tcpStateFromCode), the same endpoint decoding (proc-net-inet.ts
 * decodeEndpoint) and the same inode check; what differs is that this reads the bytes straight
 * from the buffer and stops each row at its inode column, because a host namespace can hold 100k
 * rows and scan needs nothing after it (prometheus/procfs does the same: net_ip_socket.go's one
 * line parser feeds both its full read and its summary).
 */
import { endianness } from 'node:os';
import { InputError } from '../errors.js';
import type { TcpState } from '../model/tcp-state.js';
import { TCP_STATES, tcpStateFromCode } from '../model/tcp-state.js';
import { formatEndpoint } from '../util/format.js';
import { InodeSet } from '../util/inode-set.js';
import type { ByteOrder } from './proc-net-inet.js';
import { decodeEndpoint } from './proc-net-inet.js';

/** How a table's rows are laid out: its header, and which whitespace-separated column holds the inode. */
export interface TableLayout {
  /** The header row (row 1). */
  header: RegExp;
  /** 0-based column of the inode; -1: the last column. */
  inodeColumn: number;
}

/**
 * inet tables (tcp, udp, raw, icmp and their 6): "sl local_address rem_address st ... inode" (column
 * 10); unix: "Num RefCount Protocol Flags Type St Inode Path" (column 7, before a path that may
 * hold spaces); netlink and packet: the inode is the last column.
 */
const LAYOUTS = {
  inet: { header: /^\s*sl\s/, inodeColumn: 9 },
  unix: { header: /^Num\s/, inodeColumn: 6 },
  last: { header: /^sk\s/, inodeColumn: -1 },
} as const satisfies Record<string, TableLayout>;

/**
 * A table file of /proc/<pid>/net: its name, the family it counts towards, its layout, and for the
 * inet tables the hex digits of an address (8, or 32 in the tables of IPv6), which fix the width
 * of every column up to the uid (kernelRow).
 */
export interface TableSpec {
  file: string;
  family: string;
  layout: TableLayout;
  addressDigits?: 8 | 32;
}

/** Every table scan reads, in the order it reads them: tcp before tcp6 (see isEmptyTcp in live/scan.ts). */
export const TALLY_TABLES: readonly TableSpec[] = [
  ...['tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'icmp', 'icmp6']
    .map((file): TableSpec => ({ file, family: file.replace(/6$/, ''), layout: LAYOUTS.inet, addressDigits: file.endsWith('6') ? 32 : 8 })),
  { file: 'unix', family: 'unix', layout: LAYOUTS.unix },
  { file: 'netlink', family: 'netlink', layout: LAYOUTS.last },
  { file: 'packet', family: 'packet', layout: LAYOUTS.last },
];

/**
 * The newline search of a row's end: the typed array's own indexOf, a builtin of V8, rather than
 * Buffer's (the pieces are Buffers), which goes through C++ and took 10 of the 50 ms a cold tally
 * of 34,600 tcp rows took (cpu profile, one call a row).
 */
const byteIndexOf = Uint8Array.prototype.indexOf;

const TIME_WAIT = TCP_STATES.indexOf('TIME_WAIT') + 1;
const LISTEN = TCP_STATES.indexOf('LISTEN') + 1;

/** What a tally holds once its tables are read. */
export interface TallyResult {
  /** Inodes of the rows (0 left out: no fd holds those). */
  inodes: InodeSet;
  rows: Record<string, number>;
  tcpByState: Partial<Record<TcpState, number>>;
  busiestPeer: { endpoint: string; count: number } | null;
}

/**
 * The tables of one namespace, counted: hand each table's bytes to table() (tcp before tcp6), then
 * call result(). Columns are whitespace-separated; row 1 is the header. No string is built per row.
 */
export class NetTally {
  readonly inodes: InodeSet;
  readonly rows: Record<string, number> = {};
  private readonly codes = new Array<number>(TCP_STATES.length + 1).fill(0);
  private readonly listenPorts = new Set<number>();
  /** TIME_WAIT rows: local port, and the remote endpoint as printed (hex). */
  private readonly waiting: Array<[number, string]> = [];
  private readonly starts = new Int32Array(11);
  private readonly ends = new Int32Array(11);

  /** `rows`: how many rows the tables likely hold (sockstat's counts), to size the inode set once. */
  constructor(private readonly order: ByteOrder = endianness(), rows = 0) {
    this.inodes = new InodeSet(rows);
  }

  /**
   * One table's bytes, whole or in pieces of whole lines (ProcFileReader.pieces), in order: what the
   * returned function is handed; it throws InputError (source and line in the table) at a bad header
   * or inode. Each piece is read while it is handed over, so it may be reused afterwards.
   */
  table(source: string, table: TableSpec): (piece: Uint8Array) => void {
    const at = { line: 0 }; // lines of the table read so far; 0: the header is next
    return (piece) => {
      this.rows[table.family] = (this.rows[table.family] ?? 0) + this.scanRows(piece, source, table, at);
    };
  }

  /** A table known to be empty without reading it: its family is listed with 0 rows, as a read would. */
  none(family: string): void {
    this.rows[family] = this.rows[family] ?? 0;
  }

  /** TIME_WAIT rows counted so far (tcp and tcp6 alike). */
  timeWaitRows(): number {
    return this.codes[TIME_WAIT]!;
  }

  result(): TallyResult {
    const tcpByState: Partial<Record<TcpState, number>> = {};
    this.codes.forEach((n, code) => { if (n > 0) tcpByState[tcpStateFromCode(code)!] = n; });
    return { inodes: this.inodes, rows: this.rows, tcpByState, busiestPeer: this.busiestPeer() };
  }

  /** Rows of one piece of a table (`at`: lines before it; the header first); the count of its data rows. */
  private scanRows(buf: Uint8Array, source: string, { family, layout, addressDigits }: TableSpec, at: { line: number }): number {
    const length = buf.length;
    let i = 0;
    let line = at.line;
    if (line === 0) {
      let headerEnd = buf.indexOf(10);
      if (headerEnd < 0) headerEnd = length;
      const header = Buffer.from(buf.buffer, buf.byteOffset, headerEnd).toString('latin1');
      if (!layout.header.test(header)) throw new InputError('unexpected header for a /proc/net table', { source, line: 1, text: header });
      i = headerEnd + 1;
      line = 1;
    }
    const inodeCol = layout.inodeColumn;
    const tcp = family === 'tcp';
    const { starts, ends } = this;
    const digits = addressDigits ?? 0;
    let count = 0;
    while (i < length) {
      line++;
      let col = 0;
      let lastStart = -1;
      let lastEnd = -1;
      const rowEnd = digits === 0 ? -1 : kernelRow(buf, i, length, digits, starts, ends);
      if (rowEnd >= 0) {
        col = inodeCol + 1;
        i = rowEnd;
      } else {
        // Laid out otherwise: the row tokenised up to the inode column (the rest is skipped with a native newline
        // search: a tcp row is 150 bytes and its inode ends near byte 95); netlink and packet need the last.
        while (i < length) {
          let c = buf[i]!;
          if (c === 10) break;
          if (c === 32 || c === 9) { i++; continue; }
          const s = i;
          while (i < length && (c = buf[i]!) !== 32 && c !== 9 && c !== 10) i++;
          starts[col] = s;
          ends[col] = i;
          lastStart = s;
          lastEnd = i;
          col++;
          if (col > inodeCol && inodeCol >= 0) {
            const nl = byteIndexOf.call(buf, 10, i);
            i = nl < 0 ? length : nl;
            break;
          }
          if (col === starts.length) col--; // only the last column matters from here on
        }
      }
      i++; // past "\n"
      if (col === 0) continue;
      let s: number;
      let e: number;
      if (inodeCol < 0) { s = lastStart; e = lastEnd; } else {
        if (col <= inodeCol) throw new InputError(`expected at least ${inodeCol + 1} columns, found ${col}`, { source, line });
        s = starts[inodeCol]!; e = ends[inodeCol]!;
      }
      let inode = 0;
      for (let k = s; k < e; k++) {
        const d = buf[k]! - 48;
        if (d < 0 || d > 9) throw new InputError(`expected a decimal inode, found "${Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1')}"`, { source, line });
        inode = inode * 10 + d;
      }
      if (inode !== 0) this.inodes.add(inode);
      count++;
      if (!tcp) continue;
      const code = hexDigit(buf[starts[3]!]!) * 16 + hexDigit(buf[starts[3]! + 1]!);
      if (code > 0 && code < this.codes.length) this.codes[code]!++;
      if (code === LISTEN) this.listenPorts.add(portOf(buf, ends[1]!));
      else if (code === TIME_WAIT) this.waiting.push([portOf(buf, ends[1]!), Buffer.from(buf.buffer, buf.byteOffset + starts[2]!, ends[2]! - starts[2]!).toString('latin1')]);
    }
    at.line = line;
    return count;
  }

  /** Client-side TIME_WAIT (local port not a listener) counted by remote endpoint; the busiest. */
  private busiestPeer(): { endpoint: string; count: number } | null {
    const byPeer = new Map<string, number>();
    for (const [port, remote] of this.waiting) if (!this.listenPorts.has(port)) byPeer.set(remote, (byPeer.get(remote) ?? 0) + 1);
    let best: [string, number] | null = null;
    for (const entry of byPeer) if (best === null || entry[1] > best[1] || (entry[1] === best[1] && entry[0] < best[0])) best = entry;
    if (best === null) return null;
    const hex = best[0];
    const endpoint = decodeEndpoint(hex, hex.indexOf(':') > 8 ? 'inet6' : 'inet', this.order, { source: 'TIME_WAIT row', line: 0, text: hex });
    return { endpoint: formatEndpoint(endpoint), count: best[1] };
  }
}

/** One table's bytes as scan counts them (tests; the scan itself keeps one NetTally per namespace). */
export function tallyProcNet(text: Uint8Array, source: string, file: string, order?: ByteOrder): TallyResult {
  const table = TALLY_TABLES.find((t) => t.file === file);
  if (table === undefined) throw new Error(`not a table scan reads: ${file}`);
  const tally = new NetTally(order);
  tally.table(source, table)(text);
  return tally.result();
}

/**
 * One row of an inet table as the kernel prints it, read by position: from the colon after the row
 * number every column up to the uid has a fixed width ("%4d: %08X:%04X %08X:%04X %02X %08X:%08X
 * %02X:%08lX %08X %5u %8d %lu ...", net/ipv4/tcp_ipv4.c get_tcp4_sock; udp, raw and icmp print the
 * same columns, and the IPv6 tables 32 hex digits an address). So the separators are checked where
 * they must be, and only the uid, the timeout and the inode are tokenised: ~25 bytes of a 150-byte
 * row looked at one by one instead of ~95. Measured on the bench load's table (34,600 tcp rows,
 * read once in a fresh process, as the scan's helper does: the code runs cold): 26-33 ms of tally
 * against 50-65 ms tokenising every column.
 * Fills `starts`/`ends` as the tokenizer does for the columns the tally reads (1 local, 2 remote,
 * 3 state, 9 inode) and returns where the row's "\n" is (or `end`); -1 where the row is laid out
 * otherwise (other spacing, a tab, a wider field), which the tokenizer then reads.
 */
export function kernelRow(buf: Uint8Array, i: number, end: number, digits: number, starts: Int32Array, ends: Int32Array): number {
  let j = i;
  while (j < end && buf[j] === 32) j++;
  const number = j;
  while (j < end && buf[j]! >= 48 && buf[j]! <= 57) j++;
  const local = j + 2;
  const remote = local + digits + 6;
  const state = remote + digits + 6;
  const uid = state + 42;
  if (j === number || uid >= end || buf[j] !== 58 || buf[j + 1] !== 32) return -1;
  if (buf[remote - 6] !== 58 || buf[remote - 1] !== 32 || buf[state - 6] !== 58 || buf[state - 1] !== 32) return -1;
  if (buf[state + 2] !== 32 || buf[state + 11] !== 58 || buf[state + 20] !== 32 || buf[state + 23] !== 58 || buf[state + 32] !== 32 || buf[uid - 1] !== 32) return -1;
  // uid and timeout, then the inode: whitespace-separated as the tokenizer splits them
  let k = uid;
  let token = k;
  for (let t = 0; t < 3; t++) {
    while (k < end && buf[k] === 32) k++;
    token = k;
    let c: number;
    while (k < end && (c = buf[k]!) !== 32 && c !== 9 && c !== 10) k++;
    if (k === token) return -1;
  }
  starts[1] = local; ends[1] = remote - 1;
  starts[2] = remote; ends[2] = state - 1;
  starts[3] = state; ends[3] = state + 2;
  starts[9] = token; ends[9] = k;
  const nl = byteIndexOf.call(buf, 10, k);
  return nl < 0 ? end : nl;
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** The 4 hex digits before the end of "0100007F:1F90" -> 8080. */
function portOf(buf: Uint8Array, end: number): number {
  return (hexDigit(buf[end - 4]!) << 12) | (hexDigit(buf[end - 3]!) << 8) | (hexDigit(buf[end - 2]!) << 4) | hexDigit(buf[end - 1]!);
}
