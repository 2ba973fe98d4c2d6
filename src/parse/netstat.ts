/**
 * net-tools netstat listings: `netstat -anp`, `-natp`, `-tanpo`, `-antpe`, `-uanp`, `-xanp`, `-tn`,
 * with or without -n. netstat renders /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix} of its own
 * network namespace (net-tools netstat.c: tcp_do_one, udp_do_one, raw_do_one, unix_do_one), so it
 * shows ownerless rows (TIME_WAIT, unaccepted children) like /proc does. Quirks handled:
 * - sections: "Active Internet connections (...)" and "Active UNIX domain sockets (...)", each with
 *   its own column header; -e adds User and Inode, -p adds "PID/Program name", -o adds Timer;
 * - IPv6 without brackets ("::1:47020", ":::*"): addresses split at the last ":"; v4-mapped sockets
 *   are tcp6 rows with plain IPv4 text (read as "::ffff:127.0.0.1", as /proc/net/tcp6 decodes them);
 *   without -n, hosts and ports are names ("localhost:mysql");
 * - State is blank for unconnected UDP and numeric for raw; "PID/Program name" is "1234/argv0"
 *   (argv0 may hold spaces, cut to 19 chars) or "-"; a socket shared after fork shows one owner;
 * - unix rows: "[ ACC ]" flags, a blank State for unconnected sockets, PID/Program padded to a fixed
 *   width, then the path (which may hold spaces);
 * - notes of a non-root run ("(Not all processes could be identified, ...", two lines) are skipped.
 */
import type { Owner, Socket, SocketProto, TcpState } from '../model/socket.js';
import { LineSink, STRICT } from '../util/skips.js';
import { parseToolEndpoint } from './endpoint.js';
import { MAX_LINE, quote, stripCr } from './text.js';

/** netstat's TCP state names (tcp_state[] in netstat.c) -> kernel names. */
const NETSTAT_STATES: Record<string, TcpState> = {
  ESTABLISHED: 'ESTABLISHED', SYN_SENT: 'SYN_SENT', SYN_RECV: 'SYN_RECV', FIN_WAIT1: 'FIN_WAIT1',
  FIN_WAIT2: 'FIN_WAIT2', TIME_WAIT: 'TIME_WAIT', CLOSE: 'CLOSE', CLOSE_WAIT: 'CLOSE_WAIT',
  LAST_ACK: 'LAST_ACK', LISTEN: 'LISTEN', CLOSING: 'CLOSING',
};
/**
 * netstat in another language translates some state words (net-tools 2.10, po/de.po: ESTABLISHED
 * "VERBUNDEN"; the unix states below); the others stay English. Text arrives as Latin-1: "HÖRT"
 * in UTF-8 reads "H\u00c3\u0096RT".
 */
const TRANSLATED_STATES: Record<string, TcpState> = { VERBUNDEN: 'ESTABLISHED' };
const TRANSLATED_UNIX_STATES: Record<string, string> = {
  FREI: 'FREE', 'H\u00d6RT': 'LISTEN', 'H\u00c3\u0096RT': 'LISTEN', VERBINDUNGSAUFBAU: 'CONNECTING', VERBUNDEN: 'CONNECTED', VERBINDUNGSABBAU: 'DISCONNECTING',
};
/** What to say about a state word netstat's English never prints. */
const LOCALE_HINT = ' (netstat in another language? capture it as LC_ALL=C netstat ...)';
const PROTOS: Record<string, SocketProto> = {
  tcp: 'tcp', tcp6: 'tcp', udp: 'udp', udp6: 'udp', udpl: 'udplite', udpl6: 'udplite', raw: 'raw', raw6: 'raw',
};
const UNIX_TYPES = new Set(['STREAM', 'DGRAM', 'SEQPACKET', 'RAW', 'RDM', 'UNKNOWN']);
/** netstat's unix states -> /proc/net/unix's words (as parseProcNetUnix writes them). */
const UNIX_STATES: Record<string, string> = {
  FREE: 'FREE', LISTENING: 'LISTEN', CONNECTING: 'CONNECTING', CONNECTED: 'CONNECTED', DISCONNECTING: 'DISCONNECTING', UNKNOWN: 'UNKNOWN',
};
/** Width of the PID/Program name field in unix rows (PROGNAME_WIDTH 20, then a space). */
const PROGRAM_WIDTH = 20;
const TIMER = /\s([a-z][a-z0-9-]*) \([0-9.]+\/-?\d+\/-?\d+\)\s*$/;

interface InetColumns { user: boolean; inode: boolean; program: boolean; timer: boolean }

/**
 * Pure: the sockets of a netstat listing, inet and unix sections alike.
 * `tcp 1 0 127.0.0.1:47002 127.0.0.1:38146 CLOSE_WAIT 9543/python3` ->
 * { proto: 'tcp', state: 'CLOSE_WAIT', rxQueue: 1, local: 127.0.0.1:47002, remote: 127.0.0.1:38146, owners: [9543 python3] }
 */
export function parseNetstat(text: string, source: string, sink: LineSink = STRICT()): Socket[] {
  const sockets: Socket[] = [];
  const lines = text.split('\n');
  let section: 'inet' | 'unix' | 'other' | null = null;
  let inet: InetColumns | null = null;
  let unixProgram: boolean | null = null;
  let inNote = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    const lineNo = i + 1;
    if (raw.length > MAX_LINE) {
      sink.bad(`line longer than ${MAX_LINE} characters`, source, lineNo, raw);
      continue;
    }
    if (inNote) {
      inNote = !raw.trimEnd().endsWith(')');
      continue;
    }
    if (raw.trim() === '') continue;
    if (raw.startsWith('(')) {
      inNote = !raw.trimEnd().endsWith(')'); // "(Not all processes could be identified, ..." goes on a line
      continue;
    }
    if (raw.startsWith('Active ') || raw.startsWith('Aktive ')) {
      section = /^(Active Internet connections|Aktive Internetverbindungen)\b/.test(raw) ? 'inet' : /^(Active UNIX domain sockets|Aktive Sockets in der UNIX-Dom)/.test(raw) ? 'unix' : 'other';
      continue;
    }
    if (/^Proto\s+Recv-Q\s+Send-Q\s/.test(raw)) {
      section = 'inet';
      inet = { user: /\sUser\s/.test(raw), inode: /\sInode(\s|$)/.test(raw), program: raw.includes('PID/Program name'), timer: /\sTimer\s*$/.test(raw) };
      continue;
    }
    if (/^Proto\s+(RefCnt\s+Flags|RefZ\S+\s+Flaggen)\s/.test(raw)) {
      section = 'unix';
      unixProgram = raw.includes('PID/Program name');
      continue;
    }
    if (section === 'other') continue; // Bluetooth, IPX, AX.25...: no sockets fdleak models
    const first = raw.slice(0, raw.search(/\s|$/));
    const kind = first === 'unix' ? 'unix' : PROTOS[first] !== undefined ? 'inet' : null;
    if (kind === null) {
      sink.bad(`expected a netstat row (Proto tcp, tcp6, udp, udp6, raw, raw6 or unix), found ${quote(first)}`, source, lineNo, raw);
      continue;
    }
    const origin = { source, line: lineNo };
    const result = kind === 'inet' ? inetRow(raw, inet, origin) : unixRow(raw, unixProgram, origin);
    if (typeof result === 'string') sink.bad(result, source, lineNo, raw);
    else sockets.push(result);
  }
  return sockets;
}


/** "1234/python3" -> an owner; "-" -> none; anything else -> undefined. */
function ownerOf(program: string): Owner[] | undefined {
  if (program === '-' || program === '') return [];
  const m = /^(\d{1,10})\/(.*)$/.exec(program);
  if (m === null || Number(m[1]) === 0) return undefined;
  return [{ pid: Number(m[1]), fd: null, command: m[2]!.trimEnd() }];
}

function inetRow(raw: string, header: InetColumns | null, origin: Socket['origin']): Socket | string {
  let line = raw.trimEnd();
  const timer = TIMER.exec(line);
  if (timer !== null && (header === null || header.timer)) line = line.slice(0, timer.index);
  const tokens = line.trim().split(/\s+/);
  const [protoText, recvQ, sendQ, localText, peerText] = tokens;
  const proto = PROTOS[protoText!]!;
  if (recvQ === undefined || sendQ === undefined || !/^\d{1,15}$/.test(recvQ) || !/^\d{1,15}$/.test(sendQ)) {
    return 'expected "Proto Recv-Q Send-Q Local Foreign" with numeric queues';
  }
  const family = protoText!.endsWith('6') ? 'inet6' : 'inet';
  const local = parseToolEndpoint(localText, family);
  const peer = parseToolEndpoint(peerText, family);
  if (local === null || peer === null) return 'expected local and foreign addresses as ADDRESS:PORT';
  let j = 5;
  let state: TcpState | null = null;
  let detail: string | null = null;
  const word = tokens[j];
  if (proto === 'tcp') {
    if (word === undefined) return 'expected a TCP state after the addresses';
    state = NETSTAT_STATES[word] ?? TRANSLATED_STATES[word] ?? null;
    if (state === null) return `unknown TCP state ${quote(word)}${word !== 'UNKNOWN' && /^[A-Za-z\u00c0-\u00ff_]+$/.test(word) ? LOCALE_HINT : ''}`;
    j++;
  } else if (proto === 'raw') {
    // raw_do_one prints the numeric state: 7 (TCP_CLOSE) unconnected, 1 connected.
    if (word === undefined || !/^\d{1,3}$/.test(word)) return 'expected the numeric state of a raw socket';
    detail = word === '1' ? 'ESTAB' : word === '7' ? 'UNCONN' : `st=${word}`;
    j++;
  } else {
    // udp: "ESTABLISHED" when connect()ed, blank otherwise.
    if (word === 'ESTABLISHED') j++;
    detail = word === 'ESTABLISHED' ? 'ESTAB' : 'UNCONN';
  }
  let uid: number | null = null;
  let inode: string | null = null;
  if (header?.user) {
    const user = tokens[j++];
    if (user === undefined) return 'expected a User column';
    uid = /^\d{1,10}$/.test(user) ? Number(user) : null;
  }
  if (header?.timer && timer === null) return 'expected a Timer such as "off (0.00/0/0)" at the end';
  if (header?.inode) {
    const ino = tokens[j++];
    if (ino === undefined || !/^\d+$/.test(ino)) return `expected a decimal Inode, found ${quote(ino ?? '')}`;
    inode = ino;
  }
  let owners: Owner[] = [];
  const rest = tokens.slice(j).join(' ');
  if (header === null ? rest !== '' : header.program) {
    const found = ownerOf(rest);
    if (found === undefined) return `expected PID/Program name as "1234/name" or "-", found ${quote(rest)}`;
    owners = found;
  } else if (rest !== '') {
    return `unexpected text after the last column: ${quote(rest)}`;
  }
  return {
    proto, family, state, detail, local,
    remote: state === 'LISTEN' || peerText!.endsWith(':*') ? null : peer,
    rxQueue: Number(recvQ), txQueue: Number(sendQ), backlog: null,
    uid, inode, owners, netns: null, origin,
  };
}

function unixRow(raw: string, program: boolean | null, origin: Socket['origin']): Socket | string {
  const re = /\S+/g;
  const tokens: Array<{ text: string; start: number; end: number }> = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(raw)) !== null && tokens.length < 16) tokens.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  const at = (i: number): string | undefined => tokens[i]?.text;
  if (!/^\d{1,10}$/.test(at(1) ?? '')) return 'expected "unix RefCnt [ Flags ] Type State I-Node ..." with a numeric RefCnt';
  // Flags: "[ ]", "[ ACC ]", "[ ACC W N ]": from a token starting with "[" to one ending with "]".
  let i = 2;
  if (!(at(i) ?? '').startsWith('[')) return 'expected the Flags column "[ ... ]"';
  while (i < tokens.length && !at(i)!.endsWith(']')) i++;
  if (i >= tokens.length) return 'expected the Flags column to end with "]"';
  const flags = tokens.slice(2, i + 1).map((t) => t.text).join(' ');
  i++;
  const type = at(i);
  if (type === undefined || !UNIX_TYPES.has(type)) return `expected a unix socket Type (STREAM, DGRAM, SEQPACKET), found ${quote(type ?? '')}`;
  i++;
  let state = 'UNCONNECTED'; // blank State: SS_UNCONNECTED without ACC
  const unixState = at(i) === undefined ? undefined : UNIX_STATES[at(i)!] ?? TRANSLATED_UNIX_STATES[at(i)!];
  if (unixState !== undefined) { state = unixState; i++; }
  else if (flags.includes('ACC')) state = 'LISTEN';
  const inodeText = at(i);
  if (inodeText === undefined || !/^(\d+|-)$/.test(inodeText)) return `expected a decimal I-Node, found ${quote(inodeText ?? '')}`;
  const afterInode = tokens[i]!.end;
  let owners: Owner[] = [];
  let path = '';
  const progStart = tokens[i + 1]?.start;
  const withProgram = program ?? (tokens[i + 1] !== undefined && /^(\d+\/|-$)/.test(tokens[i + 1]!.text));
  if (!withProgram || progStart === undefined) {
    path = raw.slice(afterInode).trim();
  } else {
    let programText: string;
    if (raw.length <= progStart + PROGRAM_WIDTH || raw[progStart + PROGRAM_WIDTH] === ' ') {
      // The field is padded to a fixed width: the path (which may hold spaces) starts after it.
      programText = raw.slice(progStart, progStart + PROGRAM_WIDTH).trimEnd();
      path = raw.slice(progStart + PROGRAM_WIDTH).trim();
      if (programText.startsWith('-') && programText !== '-') {
        programText = '-';
        path = raw.slice(progStart + 1).trim();
      }
    } else {
      programText = tokens[i + 1]!.text; // spacing lost (re-typed or re-flowed text): one token
      path = raw.slice(tokens[i + 1]!.end).trim();
    }
    const found = ownerOf(programText);
    if (found === undefined) return `expected PID/Program name as "1234/name" or "-", found ${quote(programText)}`;
    owners = found;
  }
  return {
    proto: 'unix', family: 'unix', state: null, detail: `${type} ${state}`,
    local: path === '' ? null : { address: path, port: null }, remote: null,
    rxQueue: null, txQueue: null, backlog: null, uid: null,
    inode: inodeText === '-' ? null : inodeText, owners, netns: null, origin,
  };
}
