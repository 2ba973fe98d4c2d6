/**
 * /proc/net/{tcp,tcp6,udp,udp6,udplite,udplite6,raw,raw6,icmp,icmp6} of one network namespace
 * (/proc/<pid>/net/... is the namespace of <pid>). Format: kernel tcp4_seq_show / udp4_format_sock,
 * Documentation/networking/proc_net_tcp.rst. Quirks handled:
 * - row 1 is a header with fewer names than columns: rows are split on whitespace, never aligned;
 * - IPv4 rows are space-padded to 149 chars (udp 127); tcp6 rows are not: always trim;
 * - addresses are host-order u32 words in hex ("0100007F" is 127.0.0.1 on little-endian x86);
 *   IPv6 is four such words; ports are plain hex ("B799" = 47001);
 * - st 03 is printed for request socks, 06/05 for TIME_WAIT minisocks; inode is 0 when no fd holds it;
 * - uid, timeout and inode are decimal, everything else hex; udp "sl" is a hash bucket, not a key.
 */
import { endianness } from 'node:os';
import { InputError } from '../errors.js';
import type { Endpoint, Socket, SocketProto } from '../model/socket.js';
import { tcpStateFromCode } from '../model/tcp-state.js';
import { formatIpv6 } from '../util/ip.js';
import { readProcFile } from '../util/proc-file.js';
import { LineSink, STRICT } from '../util/skips.js';
import { MAX_LINE, quote, stripCr } from './text.js';
import type { InetTable, KeepRow, RowSelection } from './proc-net-inet-select.js';
import { eachLine, INET_TABLES, selectInetRows } from './proc-net-inet-select.js';

export type { KeepRow, RowSelection } from './proc-net-inet-select.js';
export { selectInetRows } from './proc-net-inet-select.js';

export type ByteOrder = 'LE' | 'BE';
export type { InetTable } from './proc-net-inet-select.js';
export { INET_TABLES } from './proc-net-inet-select.js';

/**
 * The text of a /proc/net table, read as latin1 (one byte, one character; util/proc-file.ts says
 * why not readFileSync); null if the kernel has no such table.
 */
export function readProcNetText(path: string): string | null {
  try {
    return readProcFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Pure: the rows of one /proc/net inet table. `order` is injectable so fixtures decode anywhere.
 * `sink` decides what a bad row does: strict (live kernel text, the default) throws an InputError;
 * lenient (captured text) counts it and goes on. Header lines are passed over wherever they are
 * (captures often concatenate tables); in lenient mode a missing header is no error.
 *
 * `keep(inode, st)`: rows whose inode column (and st column, the state as 2 hex digits) it rejects
 * are passed over before anything else is parsed, not even cut out of the text (live diagnose keeps
 * one process's rows out of a busy host's thousands). Such rows are not checked either: a malformed
 * row of another process goes unnoticed, where without `keep` it is an error.
 */
export function parseProcNetInet(
  text: string,
  source: string,
  table: InetTable = tableOfSource(source),
  netns: string | null = null,
  order: ByteOrder = endianness(),
  sink: LineSink = STRICT(),
  keep?: KeepRow,
): Socket[] {
  if (keep !== undefined) return parseSelectedRows(text, selectInetRows(text, keep), source, table, netns, order, sink);
  const parse = lineParser(text, source, table, netns, order, sink);
  return parse.done(eachLine(text, (start, end, lineNo) => parse.line(start, end, lineNo)));
}

/** Step 2: the rows of `selection` (selectInetRows of the same text), parsed as parseProcNetInet parses them. */
export function parseSelectedRows(
  text: string,
  selection: RowSelection,
  source: string,
  table: InetTable = tableOfSource(source),
  netns: string | null = null,
  order: ByteOrder = endianness(),
  sink: LineSink = STRICT(),
): Socket[] {
  const parse = lineParser(text, source, table, netns, order, sink);
  for (let i = 0; i < selection.starts.length; i++) {
    const start = selection.starts[i]!;
    const end = text.indexOf('\n', start);
    parse.line(start, end < 0 ? text.length : end, selection.lines[i]!);
  }
  return parse.done(selection.total);
}

/** Parses lines of one table's text one at a time (line 1 is the header), then says whether it was empty. */
function lineParser(text: string, source: string, table: InetTable, netns: string | null, order: ByteOrder, sink: LineSink) {
  const family = table.endsWith('6') ? 'inet6' : 'inet';
  // hex -> text in `addresses`: a table holds few distinct addresses
  const t: TableOf = { source, proto: protoOfTable(table), family, order, netns, addresses: new Map() };
  const sockets: Socket[] = [];
  const rowAt = ROW_AT[family];
  return {
    line(start: number, end: number, lineNo: number): void {
      // A well-formed data row, matched where it lies in the text: no slice, trim nor header test of
      // its own, and each distinct address decoded once. Measured on the 12,500 rows a 15,000-fd
      // process keeps of a 25,000-row table, 12 cold parses each, alternating: 49 ms instead of 56
      // (median wall; CPU 67 instead of 76 ms). Anything else takes the checks below.
      if (lineNo > 1 && end - start <= MAX_LINE) {
        rowAt.lastIndex = start;
        const m = rowAt.exec(text);
        const row = m === null || rowAt.lastIndex > end + 1 ? undefined : rowOf(m, t, lineNo);
        if (row !== undefined) {
          sockets.push(row);
          return;
        }
      }
      const raw = stripCr(text.slice(start, end));
      if (raw.length > MAX_LINE) {
        sink.bad(`line longer than ${MAX_LINE} characters`, source, lineNo, raw.slice(0, 200));
        return;
      }
      if (/^\s*sl\s+local_address/.test(raw)) return;
      if (lineNo === 1 && sink.strict) {
        throw new InputError('expected the /proc/net header "sl local_address rem_address st ..."', { source, line: 1, text: raw });
      }
      const trimmed = raw.trim();
      if (trimmed === '') return;
      // Bad rows come back as a reason, not an exception: a lenient pass over millions of bad
      // lines must not pay for an Error (and its stack) per line.
      const row = parseInetRow(trimmed, t, lineNo);
      if (typeof row === 'string') sink.bad(row, source, lineNo, raw);
      else sockets.push(row);
    },
    done(lines: number): Socket[] {
      if (lines === 0 && sink.strict) throw new InputError('empty input: expected the /proc/net header line', { source });
      return sockets;
    },
  };
}

/**
 * A well-formed row in one regex: sl, local, remote, st, tx:rx, (tr:when, retrnsmt), uid, (timeout),
 * inode. It accepts only rows the column-by-column checks below accept, with the same values; any
 * other row takes that slower path, which says what is wrong with it.
 */
const ROW_BODY = {
  inet: String.raw`\S+\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8})\s+\S+\s+\S+\s+(\d{1,10})\s+\S+\s+(\d+)(?:\s|$)`,
  inet6: String.raw`\S+\s+([0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8})\s+\S+\s+\S+\s+(\d{1,10})\s+\S+\s+(\d+)(?:\s|$)`,
};
/** ROW_BODY of a trimmed row. */
const ROW = { inet: new RegExp(`^${ROW_BODY.inet}`), inet6: new RegExp(`^${ROW_BODY.inet6}`) };
/** ROW_BODY at lastIndex in the whole text, after the row's leading blanks (the caller checks it ends within the row). */
const ROW_AT = { inet: new RegExp(`[ \t]*${ROW_BODY.inet}`, 'y'), inet6: new RegExp(`[ \t]*${ROW_BODY.inet6}`, 'y') };

/** What every row of one table shares: where it was read and how its text decodes. */
interface TableOf {
  source: string;
  proto: SocketProto;
  family: 'inet' | 'inet6';
  order: ByteOrder;
  netns: string | null;
  /** addressOf per distinct hex text of the table. */
  addresses: Map<string, string>;
}

/** The record of a ROW match; undefined for a TCP row whose state code names no state. */
function rowOf(m: RegExpExecArray, t: TableOf, line: number): Socket | undefined {
  const st = parseInt(m[5]!, 16);
  const state = t.proto === 'tcp' ? (tcpStateFromCode(st) ?? null) : null;
  if (t.proto === 'tcp' && state === null) return undefined;
  return socketOf(t, line, state, t.proto === 'tcp' ? null : udpDetail(st),
    { address: cachedAddress(t, m[1]!), port: parseInt(m[2]!, 16) },
    { address: cachedAddress(t, m[3]!), port: parseInt(m[4]!, 16) },
    parseInt(m[7]!, 16), parseInt(m[6]!, 16), Number(m[8]!), m[9]!);
}

/** A row's record, its keys in schema order (model/as-is.ts keeps such records as they are). */
function socketOf(
  t: TableOf, line: number, state: Socket['state'], detail: string | null,
  local: Endpoint, remote: Endpoint, rxQueue: number, txQueue: number, uid: number, inode: string,
): Socket {
  return {
    proto: t.proto, family: t.family, state, detail, local, remote, rxQueue, txQueue,
    backlog: null, uid, inode, owners: [], netns: t.netns,
    origin: { source: t.source, line },
  };
}

/** addressOf, once per distinct hex text of a table. */
function cachedAddress(t: TableOf, hex: string): string {
  let address = t.addresses.get(hex);
  if (address === undefined) t.addresses.set(hex, (address = addressOf(hex, t.family, t.order)));
  return address;
}

/** One data row, or what is wrong with it. */
function parseInetRow(trimmed: string, t: TableOf, line: number): Socket | string {
  const { proto, family, order } = t;
  const m = ROW[family].exec(trimmed);
  const row = m === null ? undefined : rowOf(m, t, line);
  if (row !== undefined) return row;
  const cols = trimmed.split(/\s+/);
  if (cols.length < 10) return `expected at least 10 columns, found ${cols.length}`;
  const local = endpointOf(cols[1]!, family, order);
  if (typeof local === 'string') return local;
  const remote = endpointOf(cols[2]!, family, order);
  if (typeof remote === 'string') return remote;
  const st = hexField(cols[3]!, 2, 'state');
  if (typeof st === 'string') return st;
  const queues = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8})$/.exec(cols[4]!);
  if (queues === null) return `expected tx_queue:rx_queue as 8:8 hex digits, found ${quote(cols[4]!)}`;
  const uid = decField(cols[7]!, 'uid');
  if (typeof uid === 'string') return uid;
  const inode = cols[9]!;
  if (!/^\d+$/.test(inode)) return `expected a decimal inode, found ${quote(inode)}`;
  let state: Socket['state'] = null;
  let detail: string | null = null;
  if (proto === 'tcp') {
    state = tcpStateFromCode(st) ?? null;
    if (state === null) return `unknown TCP state 0x${cols[3]!}`;
  } else {
    detail = udpDetail(st);
  }
  return socketOf(t, line, state, detail, local, remote, parseInt(queues[2]!, 16), parseInt(queues[1]!, 16), uid, inode);
}

/** udp/raw reuse TCP codes: 07 (TCP_CLOSE) = unconnected, 01 = connect()ed. */
function udpDetail(st: number): string {
  return st === 1 ? 'ESTAB' : st === 7 ? 'UNCONN' : `st=${st}`;
}

function protoOfTable(table: InetTable): SocketProto {
  const base = table.replace(/6$/, '');
  return base === 'tcp' || base === 'udp' || base === 'udplite' || base === 'raw' || base === 'icmp' ? base : 'other';
}

/** "/proc/123/net/tcp6" -> "tcp6"; unknown names read as tcp. */
export function tableOfSource(source: string): InetTable {
  const name = source.slice(source.lastIndexOf('/') + 1).replace(/\.txt$/, '');
  return (INET_TABLES as readonly string[]).includes(name) ? (name as InetTable) : 'tcp';
}

function hexField(text: string, width: number, what: string): number | string {
  if (text.length !== width || !/^[0-9A-Fa-f]+$/.test(text)) return `expected ${what} as ${width} hex digits, found ${quote(text)}`;
  return parseInt(text, 16);
}

function decField(text: string, what: string): number | string {
  if (!/^\d{1,10}$/.test(text)) return `expected a decimal ${what}, found ${quote(text)}`;
  return Number(text);
}

/** A hex "0100007F:1F90" endpoint decoded (InputError at `at` when it is not one). */
export function decodeEndpoint(
  text: string,
  family: 'inet' | 'inet6',
  order: ByteOrder,
  at: { source: string; line: number; text: string },
): { address: string; port: number } {
  const endpoint = endpointOf(text, family, order);
  if (typeof endpoint === 'string') throw new InputError(endpoint, at);
  return endpoint;
}

function endpointOf(text: string, family: 'inet' | 'inet6', order: ByteOrder): { address: string; port: number } | string {
  const width = family === 'inet' ? 8 : 32;
  const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(text);
  if (m === null || m[1]!.length !== width) return `expected an address as ${width} hex digits ":" 4 hex digits, found ${quote(text)}`;
  return { address: addressOf(m[1]!, family, order), port: parseInt(m[2]!, 16) };
}

/** 8 (IPv4) or 32 (IPv6) hex digits -> address text. Word by word: each 8 digits are a u32 in host order. */
function addressOf(hex: string, family: 'inet' | 'inet6', order: ByteOrder): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = parseInt(hex.slice(w, w + 8), 16);
    if (order === 'LE') bytes.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24);
    else bytes.push(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
  }
  return family === 'inet' ? `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}` : formatIpv6(bytes);
}
