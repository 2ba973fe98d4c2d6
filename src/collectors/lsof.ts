/**
 * lsof 4.x text as users capture it: the default column listing (`lsof -nP -i`, `lsof -p PID`,
 * list-everything `lsof -nP` with TID/TASKCMD, `-Tqs`, `-K`, `-R`/`-g`/`-l`) -> parseLsof, and field
 * output (`lsof -F pcfnPtT...`, `-F0`) -> parseLsofFields. Format: lsof(8), "OUTPUT" and "OUTPUT FOR
 * OTHER PROGRAMS". Quirks handled:
 * - columns are padded per run and DEVICE, SIZE/OFF, NODE may be blank: rows are read by tokens from
 *   the left (COMMAND PID [TID TASKCMD] [PPID] [PGID] USER FD TYPE), then by what TYPE implies;
 * - TID/TASKCMD (list-everything mode, -K) are blank on process rows and filled on thread rows, which
 *   repeat the process's fds: one (pid, fd) is one fd;
 * - COMMAND and TASKCMD escape spaces and control bytes as \xNN ("udp\x20la"), cut to 9 chars without +c;
 * - IPv4/IPv6 rows: DEVICE is the socket inode, NODE the protocol, NAME "a:p->b:p (STATE QR=1 QS=0)";
 *   v4-mapped sockets are TYPE IPv6 with plain IPv4 text; without -n/-P names ("localhost:mysql") are
 *   kept; UDP rows have no state and end in a space; in -F output the inode is the "d" field;
 * - sock rows are sockets lsof found in no /proc/net table of its own netns: "protocol: TCP" (the
 *   system.sockprotoname xattr) becomes the fd's hint; they get no socket row, which is the point;
 * - unix rows: NAME "[path] type=STREAM (CONNECTED)"; lsof cuts a path at its first space;
 * - "lsof: WARNING: ..." lines and their indented continuation are skipped; NOFD rows (fd directory
 *   unreadable) mark the process's fd table incomplete;
 * - fd numbers of 10000 and up do not fit the FD column and read "*000r", "*001r", ... (the last three
 *   digits, wrapping every 1000); lsof lists fds in ascending order, which restores the number.
 */
import type { Fd, FdKind } from '../model/fd.js';
import { countKinds } from '../model/fd.js';
import type { Process } from '../model/process.js';
import type { Socket, SocketProto, TcpState } from '../model/socket.js';
import { LineSink, STRICT } from '../util/skips.js';
import { MAX_LINE, parseToolEndpoint, quote, stripCr } from './ss.js';

/** What an lsof capture yields: its processes, their numeric fds, and the socket rows lsof decoded. */
export interface LsofRecords {
  processes: Process[];
  fds: Fd[];
  sockets: Socket[];
}

/**
 * What one call leaves for the next when a capture is parsed in pieces: the last fd number seen per
 * process, so that "*NNN" FDs (fd >= 10000) at the start of a piece still resolve. Pass the same
 * object to every call on one capture; a fresh one (the default) for a capture parsed whole.
 */
export interface LsofCarry {
  lastFd: Map<string, number>;
}

/** lsof's TCP state names (dialects/linux/dsock.c) -> kernel names. */
const LSOF_STATES: Record<string, TcpState> = {
  ESTABLISHED: 'ESTABLISHED', SYN_SENT: 'SYN_SENT', SYN_RECV: 'SYN_RECV', FIN_WAIT1: 'FIN_WAIT1',
  FIN_WAIT2: 'FIN_WAIT2', TIME_WAIT: 'TIME_WAIT', CLOSE: 'CLOSE', CLOSED: 'CLOSE', CLOSE_WAIT: 'CLOSE_WAIT',
  LAST_ACK: 'LAST_ACK', LISTEN: 'LISTEN', CLOSING: 'CLOSING',
};
/** TYPE values that are sockets; those lsof found in a /proc/net table get a socket row. */
const SOCKET_TYPES = new Set(['IPv4', 'IPv6', 'sock', 'unix', 'netlink', 'raw', 'raw6', 'pack', 'ax25', 'ipx', 'x.25', 'atalk', 'inet', 'inet6', 'key', 'ndrv']);
const TABLE_TYPES: Record<string, SocketProto> = { unix: 'unix', netlink: 'netlink', raw: 'raw', raw6: 'raw', pack: 'packet' };
const FILE_TYPES = new Set(['REG', 'DIR', 'CHR', 'BLK', 'LINK']);
const NON_FD = /^(cwd|rtd|txt|mem|mmap|ltx|DEL|NOFD|pd|tr|v86|err|jld|m86|Mxx)$/;
/** FD column: a number, the mode (r w u, or blank) and the lock character. */
const FD_NUMBER = /^(\d{1,10})[rwu]?[rRwWuUNxX]?$/;
/** FD numbers wider than the column: "*000r" is 10000, 11000, ... (the last 3 digits). */
const FD_TRUNCATED = /^\*(\d{3})[rwu]?[rRwWuUNxX]?$/;

/** One file of one process, as either output form gives it. */
interface LsofFile {
  line: number;
  text: string;
  pid: number;
  tid: number | null;
  command: string;
  uid: number | null;
  /** "3" (mode and lock stripped), "cwd", "NOFD"; null when -F was asked without "f". */
  fd: string | null;
  type: string;
  /** Socket inode of IPv4/IPv6 rows (DEVICE column, -F "d"). */
  device: string | null;
  /** Inode of other files (NODE column, -F "i"). */
  node: string | null;
  /** Protocol of IPv4/IPv6 rows (NODE column, -F "P"). */
  protocol: string | null;
  name: string;
  /** From "(STATE QR=n QS=n)" or the -F "T" fields. */
  state: string | null;
  rxQueue: number | null;
  txQueue: number | null;
  /** From -F output, where any field may be missing. */
  fromFields?: boolean;
}

/** Collects files into processes, fds and sockets; one (pid, fd) counts once. */
class Builder {
  private readonly procs = new Map<number, { process: Process; tids: Set<number>; fds: Set<number> }>();
  private readonly fds: Fd[] = [];
  private readonly sockets: Socket[] = [];
  private readonly socketByKey = new Map<string, Socket>();
  /** Whether the capture lists tasks (TID column, -F "K"): then threads can be counted. */
  tasksListed = false;
  /** Last fd number per process (and thread) row run, to restore truncated "*NNN" FDs. */
  private readonly lastFd: Map<string, number>;

  constructor(private readonly source: string, private readonly sink: LineSink, carry: LsofCarry) {
    this.lastFd = carry.lastFd;
  }

  /** Registers a process (a -F process set may come without files). */
  seen(pid: number, command: string, uid: number | null, tid: number | null): void {
    if (pid > 0) this.proc({ pid, command, uid, tid });
  }

  /** Registers a process row even if it has no fd (cwd/txt/mem rows, NOFD). */
  private proc(f: Pick<LsofFile, 'pid' | 'command' | 'uid' | 'tid'>): { process: Process; tids: Set<number>; fds: Set<number> } {
    let p = this.procs.get(f.pid);
    if (p === undefined) {
      p = {
        process: {
          pid: f.pid, command: f.command, cmdline: null, uid: f.uid, startTime: null, fdCount: 0,
          fdTableComplete: true, fdLimit: null, netns: null, threads: null, fdKinds: null,
        },
        tids: new Set(), fds: new Set(),
      };
      this.procs.set(f.pid, p);
    }
    if (f.tid !== null && f.tid !== f.pid) p.tids.add(f.tid);
    return p;
  }

  add(f: LsofFile): void {
    const bad = (reason: string): void => this.sink.bad(reason, this.source, f.line, f.text);
    if (f.pid === 0) return bad('expected a positive PID');
    if (f.fd === 'NOFD') {
      this.proc(f).process.fdTableComplete = false;
      return;
    }
    const number = f.fd === null ? null : FD_NUMBER.exec(f.fd);
    const truncated = f.fd === null ? null : FD_TRUNCATED.exec(f.fd);
    if (f.fd !== null && number === null && truncated === null && !NON_FD.test(f.fd)) return bad(`expected an FD (a number, cwd, txt, mem, ...), found ${quote(f.fd)}`);
    let fdNo = number === null ? null : Number(number[1]);
    // lsof lists a process's fds in ascending order, so "*NNN" is the first number above the
    // previous fd (of this process or thread) that ends in NNN; at least 10000, the first cut off.
    const run = `${f.pid}/${f.tid ?? ''}`;
    if (truncated !== null) {
      const prev = Math.max(this.lastFd.get(run) ?? 9999, 9999);
      fdNo = prev - (prev % 1000) + Number(truncated[1]);
      if (fdNo <= prev) fdNo += 1000;
    }
    if (fdNo !== null) this.lastFd.set(run, fdNo);
    if (f.fd === null) this.proc(f).process.fdTableComplete = false; // -F without "f": fds unknown
    const type = f.type;
    let socket: Socket | null = null;
    let hint: string | null = null;
    let inode: string | null = null;
    let kind: FdKind = 'other';
    if (SOCKET_TYPES.has(type)) {
      kind = 'socket';
      if (type === 'IPv4' || type === 'IPv6') {
        inode = f.device !== null && /^\d+$/.test(f.device) ? f.device : null;
        const decoded = this.inetSocket(f, inode);
        if (typeof decoded === 'string') return bad(decoded);
        socket = decoded;
      } else {
        inode = f.node !== null && /^\d+$/.test(f.node) ? f.node : null;
        // -F without "i" has no inode: the fd still counts, it just cannot be joined to a table
        if (inode === null && !f.fromFields) return bad(`expected the socket inode in the NODE column of a ${type} row`);
        if (type === 'sock') {
          const m = /^protocol: (\S+)/.exec(f.name);
          hint = m === null ? null : m[1]!;
        } else if (TABLE_TYPES[type] !== undefined && inode !== null) {
          socket = this.tableSocket(f, TABLE_TYPES[type]!, inode);
        }
      }
    } else if (type === 'FIFO') {
      kind = f.name === 'pipe' ? 'pipe' : 'file';
      if (kind === 'pipe' && f.node !== null && /^\d+$/.test(f.node)) inode = f.node;
    } else if (FILE_TYPES.has(type)) {
      kind = 'file';
    } else if (type === 'a_inode') {
      kind = 'anon_inode';
    }

    const p = this.proc(f);
    if (fdNo !== null) {
      if (p.fds.has(fdNo)) return; // the same fd again, on a thread's row
      p.fds.add(fdNo);
      this.fds.push({ pid: f.pid, fd: fdNo, kind, inode, target: f.name, hint, origin: { source: this.source, line: f.line } });
    }
    if (socket === null) return;
    // Without an inode (-F without "d"), a connected TCP socket is still one per 4-tuple in a netns:
    // a socket shared after fork() stays one row. Listeners may be distinct (SO_REUSEPORT): per fd.
    const key = inode ??
      (socket.proto === 'tcp' && socket.remote !== null ? `tcp|${f.name}` : fdNo !== null ? `${f.pid}:${fdNo}` : `${f.pid}|${type}|${f.name}`);
    const owner = { pid: f.pid, fd: fdNo, command: p.process.command };
    const existing = this.socketByKey.get(key);
    if (existing === undefined) {
      socket.owners.push(owner);
      this.socketByKey.set(key, socket);
      this.sockets.push(socket);
    } else if (!existing.owners.some((o) => o.pid === owner.pid && o.fd === owner.fd)) {
      existing.owners.push(owner); // a socket shared after fork()
    }
  }

  /** An IPv4/IPv6 row -> a tcp/udp socket; null for other protocols; a string says what is wrong. */
  private inetSocket(f: LsofFile, inode: string | null): Socket | null | string {
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
    return {
      proto, family, state,
      detail: proto === 'tcp' ? null : remote === null ? 'UNCONN' : 'ESTAB',
      local, remote,
      rxQueue: f.rxQueue, txQueue: f.txQueue, backlog: null,
      uid: f.uid, inode, owners: [], netns: null,
      origin: { source: this.source, line: f.line },
    };
  }

  /** unix, netlink, raw, packet rows: lsof found them in /proc/net, so they are in a table. */
  private tableSocket(f: LsofFile, proto: SocketProto, inode: string): Socket {
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
      origin: { source: this.source, line: f.line },
    };
  }

  build(): LsofRecords {
    const kinds = new Map<number, Fd[]>();
    for (const fd of this.fds) {
      const list = kinds.get(fd.pid);
      if (list === undefined) kinds.set(fd.pid, [fd]);
      else list.push(fd);
    }
    const processes = [...this.procs.values()].map(({ process, tids, fds }) => ({
      ...process,
      fdCount: fds.size,
      threads: this.tasksListed ? 1 + tids.size : null,
      fdKinds: countKinds(kinds.get(process.pid) ?? []),
    }));
    return { processes, fds: this.fds, sockets: this.sockets };
  }
}

/** "udp\x20lab" -> "udp lab": lsof's escapes of spaces and control bytes in COMMAND/TASKCMD. */
export function unescapeLsof(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** "(CLOSE_WAIT QR=1 QS=0)" at the end of an IPv4/IPv6 NAME -> state and queues; the rest is the address text. */
function splitInetName(name: string): { address: string; state: string | null; rxQueue: number | null; txQueue: number | null } {
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

interface Token { text: string; start: number }

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) tokens.push({ text: m[0], start: m.index });
  return tokens;
}

const isNumber = (t: Token | undefined): boolean => t !== undefined && /^\d{1,10}$/.test(t.text);
const isFd = (t: Token | undefined): boolean => t !== undefined && (FD_NUMBER.test(t.text) || FD_TRUNCATED.test(t.text) || NON_FD.test(t.text));
/** A TYPE word: IPv4, a_inode, x.25, unknown, or lsof's 4-hex-digit code for unknown modes. */
const isType = (t: Token | undefined): boolean => t !== undefined && (/^[A-Za-z][A-Za-z0-9_.]*$/.test(t.text) || /^[0-9a-fA-F]{4}$/.test(t.text));
/** USER FD TYPE at index i (or USER NOFD). */
const userFdTypeAt = (tokens: Token[], i: number): boolean =>
  tokens[i] !== undefined && isFd(tokens[i + 1]) && (tokens[i + 1]!.text === 'NOFD' || isType(tokens[i + 2]));

/** Column layout from a header line "COMMAND PID [TID TASKCMD] [PPID] [PGID] USER FD TYPE ...". */
interface Layout {
  /** TID/TASKCMD columns: true (header says so), false (header says not), null (no header seen). */
  tasks: boolean | null;
  /** Numeric columns between PID (or TASKCMD) and USER: PPID, PGID. */
  extra: number;
  /** Where the right-aligned TID column ends in the header: breaks ties on odd rows. */
  tidEnd: number | null;
}

/**
 * Pure: the default lsof listing. Example row (header with TID/TASKCMD):
 * `thr-main 28 29 thr-worke root 3u IPv4 417773 0t0 TCP 127.0.0.1:47140 (LISTEN)` ->
 * fd 3 of pid 28 (kind socket, inode 417773), a LISTEN tcp socket owned by (28, fd 3), process thr-main.
 */
export function parseLsof(text: string, source: string, sink: LineSink = STRICT(), carry: LsofCarry = { lastFd: new Map() }): LsofRecords {
  const builder = new Builder(source, sink, carry);
  const lines = text.split('\n');
  let layout: Layout = { tasks: null, extra: 0, tidEnd: null };
  let afterWarning = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    const lineNo = i + 1;
    const wasWarning = afterWarning;
    afterWarning = false;
    if (raw.trim() === '') continue;
    if (raw.length > MAX_LINE) {
      sink.bad(`line longer than ${MAX_LINE} characters`, source, lineNo, raw);
      continue;
    }
    if (raw.startsWith('lsof: ')) { afterWarning = true; continue; } // "lsof: WARNING: can't stat() ..."
    if (/^\s/.test(raw) && (wasWarning || /Output information may be incomplete/.test(raw))) { afterWarning = true; continue; }
    if (/^COMMAND\s+PID(\s|$)/.test(raw)) {
      const names = raw.trim().split(/\s+/);
      const user = names.indexOf('USER');
      const tid = /\bTID\b/.exec(raw);
      layout = {
        tasks: tid !== null,
        extra: user < 0 ? 0 : names.slice(2, user).filter((n) => n === 'PPID' || n === 'PGID').length,
        tidEnd: tid === null ? null : tid.index + 3,
      };
      if (layout.tasks) builder.tasksListed = true;
      continue;
    }
    const file = parseLsofRow(raw, lineNo, layout);
    if (typeof file === 'string') sink.bad(file, source, lineNo, raw);
    else builder.add(file);
  }
  return builder.build();
}

/** One data row -> a file, or what is wrong with it. */
function parseLsofRow(raw: string, lineNo: number, layout: Layout): LsofFile | string {
  const t = tokenize(raw);
  // lsof escapes spaces in COMMAND (\x20), but an older or patched one may not: allow a few words.
  let p = 1;
  while (p < t.length && p <= 3 && !isNumber(t[p])) p++;
  if (!isNumber(t[p])) return `expected a numeric PID after COMMAND, found ${quote(t[1]?.text ?? '')}`;
  const command = unescapeLsof(raw.slice(0, t[p]!.start).trim());
  const pid = Number(t[p]!.text);
  // After PID: [TID TASKCMD] (blank on process rows), PPID/PGID if asked for, then USER FD TYPE.
  const k = p + 1;
  const plain = userFdTypeAt(t, k + layout.extra);
  const threaded = layout.tasks !== false && isNumber(t[k]) && userFdTypeAt(t, k + 2 + layout.extra);
  // Both readings fit only with a numeric USER (-l) on odd rows: the TID column's alignment decides.
  const aligned = layout.tidEnd !== null && t[k] !== undefined && t[k]!.start + t[k]!.text.length === layout.tidEnd;
  const isThread = threaded && (!plain || (layout.tasks === true && (layout.tidEnd === null || aligned)));
  let tid: number | null = null;
  let u: number;
  if (isThread) {
    tid = Number(t[k]!.text);
    u = k + 2 + layout.extra;
  } else if (plain) {
    u = k + layout.extra;
  } else {
    return 'expected USER FD TYPE after PID' + (layout.tasks === false ? '' : ' [TID TASKCMD]');
  }
  for (let x = k; x < u; x++) {
    if (x >= k + (tid === null ? 0 : 2) && !isNumber(t[x])) return 'expected numeric PPID/PGID columns';
  }
  const user = t[u]!.text;
  const uid = /^\d{1,10}$/.test(user) ? Number(user) : null;
  const fdText = t[u + 1]!.text;
  const fdMatch = FD_NUMBER.exec(fdText) ?? FD_TRUNCATED.exec(fdText);
  const fd = fdMatch === null ? fdText : fdText.startsWith('*') ? `*${fdMatch[1]}` : fdMatch[1]!;
  const file = (type: string, device: string | null, node: string | null, protocol: string | null, name: string): LsofFile => ({
    line: lineNo, text: raw, pid, tid, command, uid, fd, type, device, node, protocol, name, state: null, rxQueue: null, txQueue: null,
  });
  if (fd === 'NOFD') return file('', null, null, null, t[u + 2] === undefined ? '' : raw.slice(t[u + 2]!.start).trim());
  const type = t[u + 2]!.text;
  let i = u + 3;
  if (type === 'IPv4' || type === 'IPv6') {
    // DEVICE (the inode) and SIZE/OFF, then the protocol in NODE, then NAME.
    let n = i;
    while (n < t.length && n < i + 3 && !/^[A-Z][A-Z0-9]*$/.test(t[n]!.text)) n++;
    if (n >= t.length || !/^[A-Z][A-Z0-9]*$/.test(t[n]!.text)) return `expected the protocol (TCP, UDP) in the NODE column of an ${type} row`;
    const before = t.slice(i, n).map((x) => x.text);
    const device = before.length >= 2 ? before[0]! : before.length === 1 && !before[0]!.startsWith('0t') ? before[0]! : null;
    if (t[n + 1] === undefined) return `expected an address in the NAME column of an ${type} row`;
    const split = splitInetName(raw.slice(t[n + 1]!.start));
    const inet = file(type, device, null, t[n]!.text, split.address);
    inet.state = split.state;
    inet.rxQueue = split.rxQueue;
    inet.txQueue = split.txQueue;
    return inet;
  }
  // [DEVICE] [SIZE/OFF] [NODE] NAME: DEVICE is "maj,min" or 0x..., SIZE/OFF 0t.., 0x.. or a number.
  let device: string | null = null;
  let node: string | null = null;
  if (t[i] !== undefined && /^(\d+,\d+|0x[0-9a-fA-F]+)$/.test(t[i]!.text)) device = t[i++]!.text;
  if (t[i] !== undefined && /^(0t\d+|0x[0-9a-fA-F]+|\d+)$/.test(t[i]!.text) && isNumber(t[i + 1]) && t[i + 2] !== undefined) i++;
  if (isNumber(t[i]) && t[i + 1] !== undefined) node = t[i++]!.text;
  else if (isNumber(t[i]) && SOCKET_TYPES.has(type)) node = t[i++]!.text;
  const name = t[i] === undefined ? '' : raw.slice(t[i]!.start).trim();
  if (SOCKET_TYPES.has(type) && name === '' && type !== 'netlink') return `expected a NAME after the inode of a ${type} row`;
  return file(type, device, node, null, name);
}

/** Field tags of lsof 4.95 on Linux (`lsof -F?`); process-set ones first. */
const PROCESS_TAGS = new Set(['p', 'c', 'g', 'R', 'u', 'L', 'K', 'M']);
const FILE_TAGS = new Set(['f', 'a', 'l', 't', 'D', 'd', 's', 'o', 'i', 'k', 'n', 'P', 'G', 'T', 'r', 'S']);

/**
 * Pure: lsof -F output (any field selection, NL- or NUL-terminated). Each line is one field whose
 * first character is its tag; -F0 ends fields with NUL and sets with NUL+NL. A process set starts at
 * "p", a file set at "f" (or, when "f" was not asked for, at a tag repeated within the set).
 * `p9543 / cst-srv / f4 / tIPv4 / PTCP / n127.0.0.1:47002->127.0.0.1:38146 / TST=CLOSE_WAIT / TQR=1 / TQS=0`
 * -> fd 4 of pid 9543 and a CLOSE_WAIT tcp socket with rxQueue 1.
 */
export function parseLsofFields(text: string, source: string, sink: LineSink = STRICT(), carry: LsofCarry = { lastFd: new Map() }): LsofRecords {
  const builder = new Builder(source, sink, carry);
  const lines = text.split('\n');
  let proc: { pid: number; tid: number | null; command: string; uid: number | null; line: number } | null = null;
  let file: Map<string, string> | null = null;
  let fileLine = 0;
  let fileText = '';
  let afterWarning = false;
  let orphaned = false;

  const flush = (): void => {
    if (file === null || proc === null) { file = null; return; }
    const f = file;
    file = null;
    const type = f.get('t') ?? '';
    const inet = type === 'IPv4' || type === 'IPv6';
    const fdText = f.get('f') ?? null;
    const fdMatch = fdText === null ? null : FD_NUMBER.exec(fdText);
    builder.add({
      line: fileLine, text: fileText, pid: proc.pid, tid: proc.tid, command: proc.command, uid: proc.uid,
      fd: fdMatch === null ? fdText : fdMatch[1]!,
      type,
      device: inet ? (f.get('d') ?? f.get('i') ?? null) : null,
      node: f.get('i') ?? null,
      protocol: f.get('P') ?? null,
      name: (f.get('n') ?? '').trim(),
      state: f.get('TST') ?? null,
      rxQueue: queue(f.get('TQR')),
      txQueue: queue(f.get('TQS')),
      fromFields: true,
    });
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    const lineNo = i + 1;
    const wasWarning = afterWarning;
    afterWarning = false;
    if (raw.length > MAX_LINE) {
      sink.bad(`line longer than ${MAX_LINE} characters`, source, lineNo, raw);
      continue;
    }
    if (raw === '' || raw === '\0') continue;
    if (raw.startsWith('lsof: ')) { afterWarning = true; continue; } // a warning, not an "l" (lock) field
    if (/^\s/.test(raw) && (wasWarning || /Output information may be incomplete/.test(raw))) { afterWarning = true; continue; }
    const fields = raw.includes('\0') ? raw.split('\0').filter((x) => x !== '') : [raw];
    for (const field of fields) {
      const tag = field[0]!;
      const value = field.slice(1);
      const bad = (reason: string): void => sink.bad(reason, source, lineNo, raw);
      if (tag === 'p') {
        flush();
        if (proc !== null) builder.seen(proc.pid, proc.command, proc.uid, proc.tid);
        if (!/^\d{1,10}$/.test(value) || Number(value) === 0) {
          proc = null;
          orphaned = true;
          bad(`expected a numeric PID in a "p" field, found ${quote(value)}`);
          continue;
        }
        orphaned = false;
        proc = { pid: Number(value), tid: null, command: '?', uid: null, line: lineNo }; // "?" until a "c" field
      } else if (PROCESS_TAGS.has(tag)) {
        if (proc === null) { bad(orphaned ? 'field of a process set whose "p" field is bad' : `"${tag}" field before any "p" (process) field`); continue; }
        if (file !== null) flush(); // -F without "f": a process field ends the last file
        if (tag === 'c') proc.command = value;
        else if (tag === 'u' && /^\d{1,10}$/.test(value)) proc.uid = Number(value);
        else if (tag === 'K') {
          if (!/^\d{1,10}$/.test(value)) { bad(`expected a numeric TID in a "K" field, found ${quote(value)}`); continue; }
          proc.tid = Number(value);
          builder.tasksListed = true;
        }
      } else if (FILE_TAGS.has(tag)) {
        if (proc === null) { bad(orphaned ? 'field of a process set whose "p" field is bad' : `"${tag}" field before any "p" (process) field`); continue; }
        let key: string = tag;
        let v = value;
        if (tag === 'T') {
          const eq = value.indexOf('=');
          if (eq <= 0) { bad(`expected a "T" field as NAME=VALUE, found ${quote(value)}`); continue; }
          key = `T${value.slice(0, eq)}`;
          v = value.slice(eq + 1);
        }
        if (tag === 'f' || file === null || file.has(key)) {
          flush();
          file = new Map();
          fileLine = lineNo;
          fileText = raw;
        }
        file!.set(key, v);
        if (tag === 'n') {
          // A set's records and errors point at its name, the line a reader recognises.
          fileLine = lineNo;
          fileText = raw;
        }
      } else if (tag === 'm') {
        flush(); // marker between repeated outputs (-r)
      } else {
        bad(`unknown field tag ${showTag(tag)}`);
      }
    }
  }
  flush();
  if (proc !== null) builder.seen(proc.pid, proc.command, proc.uid, proc.tid);
  return builder.build();
}

/** "Z" -> "\"Z\"", a control byte or U+FFFD -> its code, so the message stays one clean line. */
function showTag(tag: string): string {
  const code = tag.codePointAt(0) ?? 0;
  return code > 0x20 && code < 0x7f ? `"${tag}"` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function queue(text: string | undefined): number | null {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : null;
}
