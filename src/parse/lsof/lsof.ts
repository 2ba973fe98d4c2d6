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
 * - files unlinked while open end their NAME in " (deleted)" (`lsof +L1` lists only those, with an
 *   NLINK column after SIZE/OFF): they are kept as fd records with their SIZE/OFF (st_size), and
 *   the targets of every other fd above 2 are tallied per process (repeatedTargets) without a record;
 * - fd numbers of 10000 and up do not fit the FD column and read "*000r", "*001r", ... (the last three
 *   digits, wrapping every 1000); lsof lists fds in ascending order, which restores the number.
 */
import type { Fd, FdKind } from '../../model/fd.js';
import type { Process } from '../../model/process.js';
import type { Socket, SocketProto, TcpState } from '../../model/socket.js';
import { LineSink, STRICT } from '../../util/skips.js';
import { isPreamble } from '../../capture/detect-format.js';
import { MAX_LINE, parseToolEndpoint, quote, stripCr } from '../ss.js';
import { detach } from '../../capture/text-input.js';

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
 * parseLsofPiece/parseLsofFieldsPiece keep the rest of their state in `capture` (lsofCaptureCarry()).
 */
export interface LsofCarry {
  lastFd: Map<string, number>;
  capture?: LsofCapture;
}

/**
 * The state of one capture read in pieces (`fdleak analyze`): the header's column layout, the lsof -F
 * process set being read, and what was read of each process's fd table, so that a thread row
 * repeating an fd of an earlier piece still counts once. `listed` (fd numbers per pid, with the
 * input that listed each first) may be shared by several inputs: an fd that two captures list is
 * counted once, by the first; each input still gives its socket rows, which the caller merges.
 */
export interface LsofCapture {
  readonly input: number;
  readonly listed: Map<number, FdTable>;
  layout: Layout;
  afterWarning: boolean;
  /** lsof -F: the process set the next piece continues; whether the last "p" field was bad. */
  fieldsProcess: FieldsProcess | null;
  orphaned: boolean;
  /** What was read so far (created by the first piece). */
  builder: Builder | null;
}

/**
 * The fds of one process listed so far: fd number -> the input that listed it first. An array, not
 * a Map: fd numbers are small and dense, and a million-line capture lists hundreds of thousands.
 */
export type FdTable = number[];

/** A carry for reading one capture in pieces; `listed` shared by the inputs of one analysis. */
export function lsofCaptureCarry(listed: Map<number, FdTable> = new Map(), input = 0): LsofCarry {
  return {
    lastFd: new Map(),
    capture: { input, listed, layout: NO_LAYOUT, afterWarning: false, fieldsProcess: null, orphaned: false, builder: null },
  };
}

/**
 * What a piece of a capture yields: its new socket fds (other fds are only counted, in the processes
 * lsofCaptureProcesses() returns), its new socket rows, the processes first named in it, and how
 * many records (fds and socket rows) it added.
 */
export interface LsofPiece {
  processes: Array<{ pid: number; command: string }>;
  fds: Fd[];
  sockets: Socket[];
  records: number;
}

/** A process as a capture read in pieces gives it: fds by kind (an fd counts for the first input that lists it). */
export interface LsofCaptureProcess {
  pid: number;
  command: string;
  fdTableComplete: boolean;
  fdKinds: Record<FdKind, number>;
  /** Targets of fds above 2 (paths, pipes, anon inode types) held by more than one fd (see tallyKey). */
  repeatedTargets: Array<{ target: string; kind: FdKind; count: number }>;
}

/** /^\d+$/.test(text), without a regular expression. */
function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
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
  /** SIZE/OFF (-F "s") when it is a size, not an offset ("0t..."); set only for files. */
  size?: string | null;
  /** From "(STATE QR=n QS=n)" or the -F "T" fields. */
  state: string | null;
  rxQueue: number | null;
  txQueue: number | null;
  /** From -F output, where any field may be missing. */
  fromFields?: boolean;
}

/** What was read of one process's fd table. */
interface ProcState {
  process: Process;
  tids: Set<number> | null;
  /** fd number -> the input that listed it first (shared by the inputs of one analysis). */
  fds: FdTable;
  /** fds this parse listed first, by kind. */
  kinds: Record<FdKind, number>;
  /** fds this input listed. */
  count: number;
  /** Socket fds: the row's text from TYPE on, so a thread row repeating it is known without decoding it again. */
  tails: string[] | null;
  /** Targets of fds above 2 -> kind and how many fds hold them (tallyKey); at most MAX_TARGETS keys. */
  targets: Map<string, { kind: FdKind; count: number }> | null;
  /** The target of the last fd tallied (tallyAt). */
  lastTarget: { key: string; entry: { kind: FdKind; count: number } } | null;
}

interface BuilderOptions {
  /** Keep a record of every fd (a capture parsed whole), or of socket fds only (pieces: the rest are counted). */
  keepAll: boolean;
  input: number;
  listed: Map<number, FdTable>;
}

/** Collects files into processes, fds and sockets; one (pid, fd) counts once. */
class Builder {
  readonly procs = new Map<number, ProcState>();
  fds: Fd[] = [];
  sockets: Socket[] = [];
  /** Processes first named since the last takePiece(). */
  created: ProcState[] = [];
  records = 0;
  private readonly socketByKey = new Map<string | number, Socket>();
  /** Whether the capture lists tasks (TID column, -F "K"): then threads can be counted. */
  tasksListed = false;
  /** The TYPE-on text of the row being added, when it is a socket fd (see ProcState.tails). */
  pendingTail: string | null = null;
  readonly input: number;
  private last: ProcState | null = null;
  // Last fd number per process (and thread) row run, to restore truncated "*NNN" FDs. A run's rows
  // are contiguous, so the map is read and written once per run, not per row.
  private runPid = -1;
  private runTid: number | null = null;
  private runLast: number | undefined;
  private runDirty = false;

  constructor(public source: string, public sink: LineSink, private readonly lastFd: Map<string, number>, private readonly options: BuilderOptions) {
    this.input = options.input;
  }

  /** Registers a process (a -F process set may come without files). */
  seen(pid: number, command: string, uid: number | null, tid: number | null): void {
    if (pid > 0) this.proc({ pid, command, uid, tid });
  }

  /** Registers a process row even if it has no fd (cwd/txt/mem rows, NOFD). */
  proc(f: Pick<LsofFile, 'pid' | 'command' | 'uid' | 'tid'>): ProcState {
    const p = this.peek(f.pid) ?? this.create(f.pid, f.command, f.uid);
    if (f.tid !== null && f.tid !== f.pid) (p.tids ??= new Set()).add(f.tid);
    return p;
  }

  peek(pid: number): ProcState | undefined {
    if (this.last !== null && this.last.process.pid === pid) return this.last;
    const p = this.procs.get(pid);
    if (p !== undefined) this.last = p;
    return p;
  }

  create(pid: number, command: string, uid: number | null): ProcState {
    let fds = this.options.listed.get(pid);
    if (fds === undefined) this.options.listed.set(pid, (fds = []));
    const p: ProcState = {
      process: {
        pid, command, cmdline: null, uid, startTime: null, fdCount: 0,
        fdTableComplete: true, fdLimit: null, netns: null, threads: null, fdKinds: null,
      },
      tids: null, fds, kinds: { socket: 0, pipe: 0, file: 0, anon_inode: 0, other: 0 }, count: 0, tails: null, targets: null, lastTarget: null,
    };
    this.procs.set(pid, p);
    this.created.push(p);
    this.last = p;
    return p;
  }

  /** The last fd number of a process's (or thread's) run of rows. */
  lastOf(pid: number, tid: number | null): number | undefined {
    if (pid !== this.runPid || tid !== this.runTid) this.switchRun(pid, tid);
    return this.runLast;
  }

  setLast(pid: number, tid: number | null, fd: number): void {
    if (pid !== this.runPid || tid !== this.runTid) this.switchRun(pid, tid);
    this.runLast = fd;
    this.runDirty = true;
  }

  private switchRun(pid: number, tid: number | null): void {
    this.flushRun();
    this.runPid = pid;
    this.runTid = tid;
    this.runLast = this.lastFd.size === 0 ? undefined : this.lastFd.get(`${pid}/${tid ?? ''}`);
  }

  /**
   * Writes the current run's last fd to the carry (at the end of every parse). A number below 9999
   * reads as no number at all (lastOf starts at 9999), so while no run went past it the map stays
   * empty: most captures never touch it.
   */
  flushRun(): void {
    if (this.runDirty && (this.runLast! >= 9999 || this.lastFd.size > 0)) this.lastFd.set(`${this.runPid}/${this.runTid ?? ''}`, this.runLast!);
    this.runDirty = false;
  }

  /** Counts fd `fdNo` of `p` unless this input listed it already; false for such a repeat. */
  list(p: ProcState, fdNo: number, kind: FdKind): 'new' | 'listed' | 'repeat' {
    const prev = p.fds[fdNo];
    if (prev === this.input) return 'repeat';
    p.fds[fdNo] = this.input;
    p.count++;
    this.records++;
    if (prev !== undefined) return 'listed';
    p.kinds[kind]++;
    return 'new';
  }

  /** Counts one more fd on `key` (a string the caller may have cut from a piece: detached when kept). */
  tally(p: ProcState, key: string, kind: FdKind): void {
    const targets = (p.targets ??= new Map());
    let t = targets.get(key);
    if (t !== undefined) t.count++;
    else if (targets.size < MAX_TARGETS) targets.set((key = detach(key)), (t = { kind, count: 1 }));
    if (t !== undefined) p.lastTarget = { key, entry: t };
  }

  /**
   * tally() of a file whose NAME is text[s, e), without cutting a string when it is the target the
   * process's previous fd was on: a leak's fds on one path come one after another.
   */
  tallyAt(p: ProcState, text: string, s: number, e: number): void {
    const last = p.lastTarget;
    if (last !== null && last.entry.kind === 'file' && e - s === last.key.length && text.startsWith(last.key, s)) {
      last.entry.count++;
      return;
    }
    this.tally(p, text.slice(s, e), 'file');
  }

  private bad(f: LsofFile, reason: string): void {
    this.sink.bad(reason, this.source, f.line, f.text);
  }

  add(f: LsofFile): void {
    if (f.pid === 0) return this.bad(f, 'expected a positive PID');
    if (f.fd === 'NOFD') {
      this.proc(f).process.fdTableComplete = false;
      return;
    }
    // Both readers strip the mode and lock characters: an FD is mostly plain digits.
    const digits = f.fd !== null && f.fd.length <= 10 && isDigits(f.fd);
    const number = f.fd === null ? null : digits ? [f.fd, f.fd] : FD_NUMBER.exec(f.fd);
    const truncated = f.fd === null || digits ? null : FD_TRUNCATED.exec(f.fd);
    if (f.fd !== null && number === null && truncated === null && !NON_FD.test(f.fd)) return this.bad(f, `expected an FD (a number, cwd, txt, mem, ...), found ${quote(f.fd)}`);
    let fdNo = number === null ? null : Number(number[1]);
    // lsof lists a process's fds in ascending order, so "*NNN" is the first number above the
    // previous fd (of this process or thread) that ends in NNN; at least 10000, the first cut off.
    if (truncated !== null) {
      const prev = Math.max(this.lastOf(f.pid, f.tid) ?? 9999, 9999);
      fdNo = prev - (prev % 1000) + Number(truncated[1]);
      if (fdNo <= prev) fdNo += 1000;
    }
    if (fdNo !== null) this.setLast(f.pid, f.tid, fdNo);
    if (f.fd === null) this.proc(f).process.fdTableComplete = false; // -F without "f": fds unknown
    const type = f.type;
    let socket: Socket | null = null;
    let hint: string | null = null;
    let inode: string | null = null;
    let kind: FdKind = 'other';
    if (SOCKET_TYPES.has(type)) {
      kind = 'socket';
      if (type === 'IPv4' || type === 'IPv6') {
        inode = f.device !== null && isDigits(f.device) ? f.device : null;
        const decoded = this.inetSocket(f, inode);
        if (typeof decoded === 'string') return this.bad(f, decoded);
        socket = decoded;
      } else {
        inode = f.node !== null && isDigits(f.node) ? f.node : null;
        // -F without "i" has no inode: the fd still counts, it just cannot be joined to a table
        if (inode === null && !f.fromFields) return this.bad(f, `expected the socket inode in the NODE column of a ${type} row`);
        if (type === 'sock') {
          const m = /^protocol: (\S+)/.exec(f.name);
          hint = m === null ? null : m[1]!;
        } else if (TABLE_TYPES[type] !== undefined && inode !== null) {
          socket = this.tableSocket(f, TABLE_TYPES[type]!, inode);
        }
      }
    } else if (type === 'FIFO') {
      kind = f.name === 'pipe' ? 'pipe' : 'file';
      if (kind === 'pipe' && f.node !== null && isDigits(f.node)) inode = f.node;
    } else if (FILE_TYPES.has(type)) {
      kind = 'file';
    } else if (type === 'a_inode') {
      kind = 'anon_inode';
    }

    const p = this.proc(f);
    if (fdNo !== null) {
      const listed = this.list(p, fdNo, kind);
      if (listed === 'repeat') return; // the same fd again, on a thread's row
      const deleted = kind === 'file' && isDeletedName(f.name);
      if (listed === 'new' && (this.options.keepAll || kind === 'socket' || deleted)) {
        const fd: Fd = { pid: f.pid, fd: fdNo, kind, inode, target: f.name, hint, origin: { source: this.source, line: f.line } };
        if (deleted) {
          fd.deleted = true;
          fd.size = f.size !== undefined && f.size !== null && isDigits(f.size) && f.size.length < 16 ? Number(f.size) : null;
          fd.diskBytes = null; // lsof gives no blocks
        }
        this.fds.push(fd);
      }
      if (listed === 'new' && fdNo > 2) {
        const key = tallyKey(kind, f.name, f.node);
        if (key !== null) this.tally(p, key, kind);
      }
      if (kind === 'socket' && this.pendingTail !== null) (p.tails ??= [])[fdNo] = this.pendingTail;
    }
    if (socket === null) return;
    // Without an inode (-F without "d"), a connected TCP socket is still one per 4-tuple in a netns:
    // a socket shared after fork() stays one row. Listeners may be distinct (SO_REUSEPORT): per fd.
    // An inode is a number: keyed as one (hashing a number is cheaper), unless its text is not the
    // number's own ("0123"), so that two texts never share a key.
    const key = inode !== null ? (inode.length < 16 && (inode.length === 1 || inode.charCodeAt(0) !== 48) ? Number(inode) : inode) :
      (socket.proto === 'tcp' && socket.remote !== null ? `tcp|${f.name}` : fdNo !== null ? `${f.pid}:${fdNo}` : `${f.pid}|${type}|${f.name}`);
    const owner = { pid: f.pid, fd: fdNo, command: p.process.command };
    const existing = this.socketByKey.get(key);
    if (existing === undefined) {
      socket.owners.push(owner);
      this.socketByKey.set(key, socket);
      this.sockets.push(socket);
      this.records++;
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

  /** A capture parsed whole: its processes (fd counts, kinds, threads), fds and sockets. */
  build(): LsofRecords {
    this.flushRun();
    const processes = [...this.procs.values()].map((p) => ({
      ...p.process,
      fdCount: p.count,
      threads: this.tasksListed ? 1 + (p.tids?.size ?? 0) : null,
      fdKinds: p.kinds,
      repeatedTargets: repeatedOf(p),
    }));
    return { processes, fds: this.fds, sockets: this.sockets };
  }

  /** What the piece just parsed added; the state stays for the next piece. */
  takePiece(): LsofPiece {
    this.flushRun();
    const piece = {
      processes: this.created.map((p) => ({ pid: p.process.pid, command: p.process.command })),
      fds: this.fds, sockets: this.sockets, records: this.records,
    };
    this.created = [];
    this.fds = [];
    this.sockets = [];
    this.records = 0;
    return piece;
  }
}

/** Distinct targets tallied per process: a capture's memory stays bounded (a leak's target, held by many fds, is met early). */
const MAX_TARGETS = 10_000;
const DELETED = ' (deleted)';

/** A file unlinked while open: NAME "/var/log/app.log (deleted)"; not a memfd ("/memfd:x (deleted)"). */
function isDeletedName(name: string): boolean {
  return name.endsWith(DELETED) && name.charCodeAt(0) === 47 && !name.startsWith('/memfd:');
}

/**
 * What an fd is "the same as", keyed as /proc/<pid>/fd links read: the path, "pipe:[inode]", or
 * "anon_inode:<type>" (lsof's "[eventfd:16]", "inotify" -> "anon_inode:eventfd", "anon_inode:inotify");
 * null for sockets and what cannot be told apart.
 */
export function tallyKey(kind: FdKind, name: string, node: string | null): string | null {
  if (kind === 'file') return name === '' ? null : name;
  if (kind === 'pipe') return node === null ? null : `pipe:[${node}]`;
  if (kind === 'anon_inode') {
    const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
    const colon = bare.indexOf(':');
    return `anon_inode:${colon > 0 && isDigits(bare.slice(colon + 1)) ? bare.slice(0, colon) : bare}`;
  }
  return null;
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
  /** An NLINK column after SIZE/OFF (`lsof +L`, `+L1`). */
  nlink?: boolean;
}

const NO_LAYOUT: Layout = { tasks: null, extra: 0, tidEnd: null };

/** The layout a header line ("COMMAND PID ...") gives. */
function layoutOf(raw: string): Layout {
  const names = raw.trim().split(/\s+/);
  const user = names.indexOf('USER');
  const tid = /\bTID\b/.exec(raw);
  return {
    tasks: tid !== null,
    extra: user < 0 ? 0 : names.slice(2, user).filter((n) => n === 'PPID' || n === 'PGID').length,
    tidEnd: tid === null ? null : tid.index + 3,
    nlink: names.includes('NLINK'),
  };
}

/**
 * Pure: the default lsof listing. Example row (header with TID/TASKCMD):
 * `thr-main 28 29 thr-worke root 3u IPv4 417773 0t0 TCP 127.0.0.1:47140 (LISTEN)` ->
 * fd 3 of pid 28 (kind socket, inode 417773), a LISTEN tcp socket owned by (28, fd 3), process thr-main.
 */
export function parseLsof(text: string, source: string, sink: LineSink = STRICT(), carry: LsofCarry = { lastFd: new Map() }): LsofRecords {
  const builder = new Builder(source, sink, carry.lastFd, { keepAll: true, input: 0, listed: new Map() });
  const lines = text.split('\n');
  let layout = NO_LAYOUT;
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
      layout = layoutOf(raw);
      if (layout.tasks) builder.tasksListed = true;
      continue;
    }
    const file = parseLsofRow(raw, lineNo, layout);
    if (typeof file === 'string') sink.bad(file, source, lineNo, raw);
    else builder.add(file);
  }
  return builder.build();
}

/**
 * Pure: one piece of a default lsof listing read in pieces (`fdleak analyze` streams captures):
 * `firstLine` is the number of the piece's first line, `carry` (lsofCaptureCarry(), the same for
 * every piece of the capture) holds what earlier pieces read. Lines a saved capture carries around
 * the tool's output (blank, "$ lsof -n", "# note") are passed over. The records are parseLsof's:
 * pieces of a capture give what the capture gives whole, except that fds other than sockets are
 * only counted (lsofCaptureProcesses()) and an fd repeated on a later thread row is read once.
 */
export function parseLsofPiece(text: string, source: string, sink: LineSink, carry: LsofCarry, firstLine = 1): LsofPiece {
  const state = captureOf(carry);
  const b = (state.builder ??= new Builder(source, sink, carry.lastFd, { keepAll: false, input: state.input, listed: state.listed }));
  b.source = source;
  b.sink = sink;
  let layout = state.layout;
  let afterWarning = state.afterWarning;
  resetHead();
  const end = text.length;
  let lineNo = firstLine - 1;
  for (let ls = 0; ls <= end; ) {
    let nl = text.indexOf('\n', ls);
    if (nl < 0) nl = end;
    lineNo++;
    const start = ls;
    ls = nl + 1;
    let le = nl;
    if (le > start && text.charCodeAt(le - 1) === 13) le--; // CRLF
    if (le === start) continue;
    const c0 = text.charCodeAt(start);
    if ((isSpace(c0) || c0 === 36 || c0 === 35) && isPreamble(text.slice(start, le))) continue; // "$", "#"
    const wasWarning = afterWarning;
    afterWarning = false;
    if (le - start > MAX_LINE) {
      sink.bad(`line longer than ${MAX_LINE} characters`, source, lineNo, text.slice(start, le));
      continue;
    }
    if (c0 === 108 && text.startsWith('lsof: ', start)) { afterWarning = true; continue; }
    if (isSpace(c0) && (wasWarning || /Output information may be incomplete/.test(text.slice(start, le)))) { afterWarning = true; continue; }
    if (c0 === 67 && text.startsWith('COMMAND', start)) {
      const raw = text.slice(start, le);
      if (/^COMMAND\s+PID(\s|$)/.test(raw)) {
        layout = layoutOf(raw);
        if (layout.tasks) b.tasksListed = true;
        resetHead();
        continue;
      }
    }
    const fast = fastRow(text, start, le, layout, b);
    if (fast === DONE) continue;
    // Records keep strings cut from the row: the row is detached from the piece first, unless it
    // is one that only gets reported (the caller keeps its own copy of what it reports).
    let raw = text.slice(start, le);
    let file: LsofFile | string;
    if (fast >= 0) { // a socket row fastRow read up to its TYPE: socketFile goes on from there
      raw = detach(raw);
      b.pendingTail = raw.slice(fast - start);
      file = socketFile(raw, start, lineNo);
    } else {
      file = parseLsofRow(raw, lineNo, layout);
      if (typeof file !== 'string') file = parseLsofRow((raw = detach(raw)), lineNo, layout);
    }
    if (typeof file === 'string') sink.bad(file, source, lineNo, raw);
    else b.add(file);
    b.pendingTail = null;
  }
  state.layout = layout;
  state.afterWarning = afterWarning;
  resetHead(); // it is a slice of this piece
  return b.takePiece();
}

/** The processes of a capture read in pieces, once every piece was read. */
export function lsofCaptureProcesses(carry: LsofCarry): LsofCaptureProcess[] {
  const b = carry.capture?.builder;
  if (b === undefined || b === null) return [];
  const last = carry.capture!.fieldsProcess;
  if (last !== null) seenProcess(b, last); // lsof -F: the last process set ends with the capture
  return [...b.procs.values()].map((p) => ({
    pid: p.process.pid, command: p.process.command, fdTableComplete: p.process.fdTableComplete, fdKinds: p.kinds,
    repeatedTargets: repeatedOf(p),
  }));
}

/** The targets of a process's tally held by more than one fd, in the order first met. */
function repeatedOf(p: ProcState): LsofCaptureProcess['repeatedTargets'] {
  return p.targets === null ? [] : [...p.targets].filter(([, t]) => t.count > 1).map(([target, t]) => ({ target, kind: t.kind, count: t.count }));
}

function captureOf(carry: LsofCarry): LsofCapture {
  return (carry.capture ??= lsofCaptureCarry(new Map(), 0).capture!);
}

// The fast path: most rows of a big capture are files (mem, txt, REG, FIFO, ...) or a thread's
// repeat of an fd already read. They are recognised in place, by character codes and offsets into
// the piece's text, without a string or object per row: their fd is counted, that is all a capture
// keeps of them. Anything else, or anything odd, goes through parseLsofRow, whose messages and
// records are the reference (test/parse/lsof/lsof-pieces.test.ts compares the two).

/** fastRow handled the row. Other results: -1, or where the TYPE column starts (a socket row). */
const DONE = -2;
const MAX_FAST_EXTRA = 4;

/** Token offsets of the row being read whole (as /\S+/g finds them), found as far as asked. */
const MAX_TOKENS = 32;
const TS = new Int32Array(MAX_TOKENS);
const TE = new Int32Array(MAX_TOKENS);
const row = { text: '', end: 0, scan: 0, tokens: 0, fdValue: 0, pid: 0, tid: -1, u: 0, cmdLen: 0, uid: -1, fdEnd: 0 };

/**
 * The head (COMMAND PID [TID TASKCMD] [PPID PGID] USER) of the last row read whole, when it alone
 * decided how that row reads: a process's or thread's rows repeat it byte for byte, so a row that
 * starts with it needs only its FD and TYPE read. Reset for every piece and header.
 */
const head = { text: '', pid: 0, tid: -1, u: 0, cmdLen: 0, uid: -1 };

function resetHead(): void {
  head.text = '';
  row.text = '';
}

/** JavaScript's \s, by character code. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Whether the row has a token i, reading only as far as that. */
function has(i: number): boolean {
  const r = row;
  const text = r.text;
  const end = r.end;
  while (r.tokens <= i) {
    if (r.tokens === MAX_TOKENS) return false;
    let j = r.scan;
    while (j < end && isSpace(text.charCodeAt(j))) j++;
    if (j >= end) { r.scan = j; return false; }
    TS[r.tokens] = j;
    while (j < end && !isSpace(text.charCodeAt(j))) j++;
    TE[r.tokens++] = j;
    r.scan = j;
  }
  return true;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** text[s, e) is /^\d{1,10}$/. */
function isNumAt(text: string, s: number, e: number): boolean {
  if (e - s > 10 || e === s) return false;
  for (let j = s; j < e; j++) if (!isDigit(text.charCodeAt(j))) return false;
  return true;
}

const isNum = (i: number): boolean => has(i) && isNumAt(row.text, TS[i]!, TE[i]!);

function numAt(text: string, s: number, e: number): number {
  let v = 0;
  for (let j = s; j < e; j++) v = v * 10 + text.charCodeAt(j) - 48;
  return v;
}

const FD_BAD = 0;
const FD_NUM = 1;
const FD_TRUNC = 2;
const FD_NAMED = 3;
const FD_NOFD = 4;

function isLock(c: number): boolean {
  return c === 114 || c === 82 || c === 119 || c === 87 || c === 117 || c === 85 || c === 78 || c === 120 || c === 88;
}

/** [rwu]?[rRwWuUNxX]? at text[s, e): the mode and lock characters after an FD number. */
function isModeLock(text: string, s: number, e: number): boolean {
  if (e === s) return true;
  if (e - s === 1) return isLock(text.charCodeAt(s));
  if (e - s === 2) { const c = text.charCodeAt(s); return (c === 114 || c === 119 || c === 117) && isLock(text.charCodeAt(s + 1)); }
  return false;
}

/** Four characters (or fewer, at e) packed in one number, to compare words by value. */
function word4(text: string, s: number, e: number): number {
  const n = e - s;
  return (n > 0 ? text.charCodeAt(s) : 0) * 16777216 + (n > 1 ? text.charCodeAt(s + 1) : 0) * 65536 +
    (n > 2 ? text.charCodeAt(s + 2) : 0) * 256 + (n > 3 ? text.charCodeAt(s + 3) : 0);
}
const w4 = (w: string): number => word4(w, 0, w.length);
const W_MEM = w4('mem');
const W_CWD = w4('cwd');
const W_RTD = w4('rtd');
const W_TXT = w4('txt');
const W_DEL = w4('DEL');
const NAMED_FDS = new Set(['ltx', 'v86', 'err', 'jld', 'm86', 'Mxx', 'pd', 'tr', 'mmap', 'mem', 'cwd', 'rtd', 'txt', 'DEL'].map(w4));
const W_NOFD = w4('NOFD');

/** text[s, e) as an FD: FD_NUMBER or FD_TRUNCATED (its number in row.fdValue), NON_FD's words, NOFD, or none (isFd). */
function fdClassAt(text: string, s: number, e: number): number {
  const c = text.charCodeAt(s);
  if (isDigit(c)) {
    let j = s;
    let v = 0;
    while (j < e && isDigit(text.charCodeAt(j))) v = v * 10 + text.charCodeAt(j++) - 48;
    if (j - s > 10 || !isModeLock(text, j, e)) return FD_BAD;
    row.fdValue = v;
    row.fdEnd = j;
    return FD_NUM;
  }
  if (c === 42) { // "*NNN"
    if (e - s < 4 || !isDigit(text.charCodeAt(s + 1)) || !isDigit(text.charCodeAt(s + 2)) || !isDigit(text.charCodeAt(s + 3)) || !isModeLock(text, s + 4, e)) return FD_BAD;
    row.fdValue = (text.charCodeAt(s + 1) - 48) * 100 + (text.charCodeAt(s + 2) - 48) * 10 + text.charCodeAt(s + 3) - 48;
    return FD_TRUNC;
  }
  if (e - s > 4 || e - s < 2) return FD_BAD;
  const w = word4(text, s, e);
  if (w === W_MEM || w === W_CWD || w === W_RTD || w === W_TXT || w === W_DEL) return FD_NAMED;
  return w === W_NOFD ? FD_NOFD : NAMED_FDS.has(w) ? FD_NAMED : FD_BAD;
}

const fdClass = (i: number): number => (has(i) ? fdClassAt(row.text, TS[i]!, TE[i]!) : FD_BAD);

/** text[s, e) is a TYPE word (isType). */
function isTypeAt(text: string, s: number, e: number): boolean {
  const c = text.charCodeAt(s);
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
    for (let j = s + 1; j < e; j++) {
      const d = text.charCodeAt(j);
      if (!((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || isDigit(d) || d === 95 || d === 46)) return false;
    }
    return true;
  }
  if (e - s !== 4) return false;
  for (let j = s; j < e; j++) {
    const d = text.charCodeAt(j);
    if (!(isDigit(d) || (d >= 65 && d <= 70) || (d >= 97 && d <= 102))) return false;
  }
  return true;
}

const isTypeTok = (i: number): boolean => has(i) && isTypeAt(row.text, TS[i]!, TE[i]!);

const T_OTHER = 0;
const T_FILE = 1;
const T_FIFO = 2;
const T_ANON = 3;
const T_SOCKET = 4;
/** T_OTHER, from a word typeCode did not recognise: whether it is a TYPE word at all is not known. */
const T_UNCHECKED = 5;
const KIND_OF: readonly FdKind[] = ['other', 'file', 'file', 'anon_inode', 'socket', 'other'];
/** text at s is the word w (whose first character was matched already). */
function rest(text: string, s: number, w: string): boolean {
  for (let j = 1; j < w.length; j++) if (text.charCodeAt(s + j) !== w.charCodeAt(j)) return false;
  return true;
}

/**
 * What parseLsofRow and Builder.add make of the TYPE word text[s, e): SOCKET_TYPES, FIFO, FILE_TYPES,
 * a_inode, "unknown" (lsof could not stat the fd: common in captures); T_UNCHECKED for any other.
 */
function typeCode(text: string, s: number, e: number): number {
  const c = text.charCodeAt(s);
  switch (e - s) {
    case 3:
      if (c === 82) return rest(text, s, 'REG') ? T_FILE : T_UNCHECKED;
      if (c === 68) return rest(text, s, 'DIR') ? T_FILE : T_UNCHECKED;
      if (c === 67) return rest(text, s, 'CHR') ? T_FILE : T_UNCHECKED;
      if (c === 66) return rest(text, s, 'BLK') ? T_FILE : T_UNCHECKED;
      if (c === 114) return rest(text, s, 'raw') ? T_SOCKET : T_UNCHECKED;
      if (c === 105) return rest(text, s, 'ipx') ? T_SOCKET : T_UNCHECKED;
      if (c === 107) return rest(text, s, 'key') ? T_SOCKET : T_UNCHECKED;
      return T_UNCHECKED;
    case 4:
      if (c === 70) return rest(text, s, 'FIFO') ? T_FIFO : T_UNCHECKED;
      if (c === 73) return rest(text, s, 'IPv4') || rest(text, s, 'IPv6') ? T_SOCKET : T_UNCHECKED;
      if (c === 76) return rest(text, s, 'LINK') ? T_FILE : T_UNCHECKED;
      if (c === 115) return rest(text, s, 'sock') ? T_SOCKET : T_UNCHECKED;
      if (c === 117) return rest(text, s, 'unix') ? T_SOCKET : T_UNCHECKED;
      if (c === 114) return rest(text, s, 'raw6') ? T_SOCKET : T_UNCHECKED;
      if (c === 112) return rest(text, s, 'pack') ? T_SOCKET : T_UNCHECKED;
      if (c === 97) return rest(text, s, 'ax25') ? T_SOCKET : T_UNCHECKED;
      if (c === 120) return rest(text, s, 'x.25') ? T_SOCKET : T_UNCHECKED;
      if (c === 105) return rest(text, s, 'inet') ? T_SOCKET : T_UNCHECKED;
      if (c === 110) return rest(text, s, 'ndrv') ? T_SOCKET : T_UNCHECKED;
      return T_UNCHECKED;
    case 5:
      if (c === 97) return rest(text, s, 'atalk') ? T_SOCKET : T_UNCHECKED;
      if (c === 105) return rest(text, s, 'inet6') ? T_SOCKET : T_UNCHECKED;
      return T_UNCHECKED;
    case 7:
      if (c === 117) return rest(text, s, 'unknown') ? T_OTHER : T_UNCHECKED;
      if (c === 110) return rest(text, s, 'netlink') ? T_SOCKET : T_UNCHECKED;
      if (c === 97) return rest(text, s, 'a_inode') ? T_ANON : T_UNCHECKED;
      return T_UNCHECKED;
    default:
      return T_UNCHECKED;
  }
}

/** Token i is /^(\d+,\d+|0x[0-9a-fA-F]+)$/ (DEVICE) or, with `size`, /^(0t\d+|0x[0-9a-fA-F]+|\d+)$/ (SIZE/OFF). */
function isDeviceOrSize(i: number, size: boolean): boolean {
  if (!has(i)) return false;
  const text = row.text;
  const s = TS[i]!;
  const e = TE[i]!;
  const c1 = e - s > 1 ? text.charCodeAt(s + 1) : -1;
  if (text.charCodeAt(s) === 48 && (c1 === 120 || (size && c1 === 116)) && e - s > 2) { // 0x..., 0t...
    for (let j = s + 2; j < e; j++) {
      const d = text.charCodeAt(j);
      if (!(isDigit(d) || (c1 === 120 && ((d >= 65 && d <= 70) || (d >= 97 && d <= 102))))) return false;
    }
    return true;
  }
  let j = s;
  while (j < e && isDigit(text.charCodeAt(j))) j++;
  if (j === s) return false;
  if (j === e) return size;
  if (size || text.charCodeAt(j) !== 44) return false; // "maj,min"
  const k = ++j;
  while (j < e && isDigit(text.charCodeAt(j))) j++;
  return j > k && j === e;
}

/**
 * A row read in place: DONE when it is a file (or a repeat of a socket fd with the same text),
 * else -1, or the offset of its TYPE column when it is a socket row parseLsofRow must read.
 * Nothing is changed unless the row is DONE.
 */
function fastRow(text: string, ls: number, le: number, layout: Layout, b: Builder): number {
  if (layout.nlink === true) return -1; // lsof +L: an extra column; such captures are short
  const r = row;
  r.text = text;
  r.end = le;
  let pid: number;
  let tid: number | null;
  let u: number;
  let fd: number;
  let cmdLen: number;
  let uid: number | null;
  let type = -1;
  const hl = head.text.length;
  const h = ls + hl;
  // lastIndexOf at `ls` is startsWith without a char-by-char loop: it stops at the first match
  // backwards, at most at the start of the row that set the head.
  if (hl > 0 && h < le && isSpace(text.charCodeAt(h)) && text.lastIndexOf(head.text, ls) === ls) {
    // The same head as the last row: the same PID, TID, USER; FD and TYPE decide the rest.
    pid = head.pid;
    tid = head.tid < 0 ? null : head.tid;
    u = head.u;
    cmdLen = head.cmdLen;
    uid = head.uid < 0 ? null : head.uid;
    // FD and TYPE: the next two tokens, scanned here rather than through has().
    let i = h;
    while (i < le && isSpace(text.charCodeAt(i))) i++;
    const fs = i;
    while (i < le && !isSpace(text.charCodeAt(i))) i++;
    const fe = i;
    while (i < le && isSpace(text.charCodeAt(i))) i++;
    if (i >= le) return -1;
    const ts = i;
    while (i < le && !isSpace(text.charCodeAt(i))) i++;
    TS[u + 1] = fs;
    TE[u + 1] = fe;
    TS[u + 2] = ts;
    TE[u + 2] = i;
    r.tokens = u + 3;
    r.scan = i;
    fd = fdClassAt(text, fs, fe);
    if (fd === FD_BAD || fd === FD_NOFD) return -1;
    type = typeCode(text, ts, i);
    if (type === T_UNCHECKED && !isTypeAt(text, ts, i)) return -1;
  } else {
    const extra = layout.extra;
    if (extra > MAX_FAST_EXTRA) return -1;
    head.text = '';
    r.scan = ls;
    r.tokens = 0;
    let p = 1;
    while (p <= 3 && has(p) && !isNum(p)) p++;
    if (!isNum(p)) return -1;
    pid = numAt(text, TS[p]!, TE[p]!);
    if (pid === 0) return -1;
    const k = p + 1;
    // USER FD TYPE right after PID (+ PPID/PGID), or after TID TASKCMD: userFdTypeAt of parseLsofRow.
    const fd1 = has(k + extra) ? fdClass(k + extra + 1) : FD_BAD;
    const value1 = r.fdValue;
    const end1 = r.fdEnd;
    const plain = fd1 !== FD_BAD && (fd1 === FD_NOFD || isTypeTok(k + extra + 2));
    const tidNumeric = layout.tasks !== false && isNum(k);
    const fd2 = tidNumeric && has(k + 2 + extra) ? fdClass(k + extra + 3) : FD_BAD;
    const threaded = fd2 !== FD_BAD && (fd2 === FD_NOFD || isTypeTok(k + extra + 4));
    const aligned = layout.tidEnd !== null && has(k) && TE[k]! - ls === layout.tidEnd;
    const isThread = threaded && (!plain || (layout.tasks === true && (layout.tidEnd === null || aligned)));
    tid = null;
    if (isThread) {
      tid = numAt(text, TS[k]!, TE[k]!);
      u = k + 2 + extra;
      fd = fd2;
    } else if (plain) {
      u = k + extra;
      fd = fd1;
      r.fdValue = value1;
      r.fdEnd = end1;
    } else {
      return -1;
    }
    for (let x = isThread ? k + 2 : k; x < u; x++) if (!isNum(x)) return -1;
    if (fd === FD_NOFD) return -1;
    cmdLen = TS[p]! - ls;
    uid = isNum(u) ? numAt(text, TS[u]!, TE[u]!) : null;
    // The head alone decided between the readings when the other one failed within it: a thread
    // row's PID-then-USER reading fails at TASKCMD or USER; a process row's TID reading at USER.
    if (isThread ? !plain : !tidNumeric) {
      head.text = text.slice(ls, TE[u]!);
      head.pid = pid;
      head.tid = tid ?? -1;
      head.u = u;
      head.cmdLen = cmdLen;
      head.uid = uid ?? -1;
    }
  }
  r.pid = pid;
  r.tid = tid ?? -1;
  r.u = u;
  r.cmdLen = cmdLen;
  r.uid = uid ?? -1;
  let fdNo: number | null = null;
  if (fd === FD_NUM) {
    fdNo = r.fdValue;
  } else if (fd === FD_TRUNC) {
    const prev = Math.max(b.lastOf(pid, tid) ?? 9999, 9999);
    fdNo = prev - (prev % 1000) + r.fdValue;
    if (fdNo <= prev) fdNo += 1000;
  }
  const ts = TS[u + 2]!;
  if (type < 0) type = typeCode(text, ts, TE[u + 2]!); // a TYPE word (the head's reading checked it)
  if (type === T_SOCKET) {
    // A thread's row repeating a socket fd read before: the same text from TYPE on reads the same.
    const p0 = fdNo === null ? undefined : b.peek(pid);
    const tail = p0?.fds[fdNo!] === b.input ? p0.tails?.[fdNo!] : undefined;
    if (tail === undefined || le - ts !== tail.length || text.slice(ts, le) !== tail) return ts;
    b.setLast(pid, tid, fdNo!);
    return DONE;
  }
  let kind = KIND_OF[type]!;
  // Deleted files are kept as records: parseLsofRow reads them (nothing was changed yet).
  if (type === T_FILE && fdNo !== null && text.charCodeAt(le - 1) === 41 && text.endsWith(' (deleted)', le)) return -1;
  let nameAt = -1;
  let nodeAt = -1;
  if (type === T_FIFO || (fdNo !== null && fdNo > 2 && (type === T_FILE || type === T_ANON))) {
    // [DEVICE] [SIZE/OFF] [NODE] NAME, as parseLsofRow reads them: a pipe's NAME is "pipe".
    let i = u + 3;
    if (isDeviceOrSize(i, false)) i++;
    if (isDeviceOrSize(i, true) && isNum(i + 1) && has(i + 2)) i++;
    if (isNum(i) && has(i + 1)) nodeAt = i++;
    if (has(i)) nameAt = i;
    if (type === T_FIFO && has(i) && !has(i + 1) && TE[i]! - TS[i]! === 4 && text.startsWith('pipe', TS[i]!)) kind = 'pipe';
  }
  const proc = b.peek(pid) ?? b.create(pid, detach(unescapeLsof(text.slice(ls, ls + cmdLen).trim())), uid);
  if (fdNo !== null) {
    b.setLast(pid, tid, fdNo);
    if (b.list(proc, fdNo, kind) === 'new' && fdNo > 2 && nameAt >= 0) {
      let ne = le;
      while (ne > TS[nameAt]! && isSpace(text.charCodeAt(ne - 1))) ne--;
      if (kind === 'file') {
        b.tallyAt(proc, text, TS[nameAt]!, ne);
      } else {
        const key = tallyKey(kind, text.slice(TS[nameAt]!, ne), nodeAt < 0 ? null : text.slice(TS[nodeAt]!, TE[nodeAt]!));
        if (key !== null) b.tally(proc, key, kind);
      }
    }
  }
  return DONE;
}

/**
 * The rest of a socket row fastRow read up to its TYPE (its tokens still in TS/TE, offsets into the
 * piece; `raw` the row, starting at `ls`): parseLsofRow from the TYPE column on, by offsets.
 */
function socketFile(raw: string, ls: number, lineNo: number): LsofFile | string {
  const r = row;
  const u = r.u;
  const tok = (i: number): string => raw.slice(TS[i]! - ls, TE[i]! - ls);
  const from = (i: number): string => raw.slice(TS[i]! - ls);
  const fdStart = TS[u + 1]! - ls;
  const fd = r.text.charCodeAt(TS[u + 1]!) === 42 ? raw.slice(fdStart, fdStart + 4) : isDigit(r.text.charCodeAt(TS[u + 1]!)) ? raw.slice(fdStart, r.fdEnd - ls) : tok(u + 1);
  const type = tok(u + 2);
  const file = (device: string | null, node: string | null, protocol: string | null, name: string): LsofFile => ({
    line: lineNo, text: raw, pid: r.pid, tid: r.tid < 0 ? null : r.tid, command: unescapeLsof(raw.slice(0, r.cmdLen).trim()),
    uid: r.uid < 0 ? null : r.uid, fd, type, device, node, protocol, name, state: null, rxQueue: null, txQueue: null,
  });
  let i = u + 3;
  if (type === 'IPv4' || type === 'IPv6') {
    // DEVICE (the inode) and SIZE/OFF, then the protocol in NODE, then NAME.
    const isProtocol = (k: number): boolean => has(k) && /^[A-Z][A-Z0-9]*$/.test(tok(k));
    let n = i;
    while (has(n) && n < i + 3 && !isProtocol(n)) n++;
    if (!isProtocol(n)) return `expected the protocol (TCP, UDP) in the NODE column of an ${type} row`;
    const device = n - i >= 2 ? tok(i) : n - i === 1 && !tok(i).startsWith('0t') ? tok(i) : null;
    if (!has(n + 1)) return `expected an address in the NAME column of an ${type} row`;
    const split = splitInetName(from(n + 1));
    const inet = file(device, null, tok(n), split.address);
    inet.state = split.state;
    inet.rxQueue = split.rxQueue;
    inet.txQueue = split.txQueue;
    return inet;
  }
  // [DEVICE] [SIZE/OFF] [NODE] NAME
  let device: string | null = null;
  let node: string | null = null;
  if (isDeviceOrSize(i, false)) device = tok(i++);
  if (isDeviceOrSize(i, true) && isNum(i + 1) && has(i + 2)) i++;
  if (isNum(i)) node = tok(i++); // a socket row: its inode even without a NAME after it
  const name = has(i) ? from(i).trim() : '';
  if (name === '' && type !== 'netlink') return `expected a NAME after the inode of a ${type} row`;
  return file(device, node, null, name);
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
  let size: string | null = null;
  if (t[i] !== undefined && /^(0t\d+|0x[0-9a-fA-F]+|\d+)$/.test(t[i]!.text) && isNumber(t[i + 1]) && t[i + 2] !== undefined) size = t[i++]!.text;
  if (layout.nlink === true && isNumber(t[i]) && isNumber(t[i + 1]) && t[i + 2] !== undefined) i++; // NLINK
  if (isNumber(t[i]) && t[i + 1] !== undefined) node = t[i++]!.text;
  else if (isNumber(t[i]) && SOCKET_TYPES.has(type)) node = t[i++]!.text;
  const name = t[i] === undefined ? '' : raw.slice(t[i]!.start).trim();
  if (SOCKET_TYPES.has(type) && name === '' && type !== 'netlink') return `expected a NAME after the inode of a ${type} row`;
  const fileRow = file(type, device, node, null, name);
  if (FILE_TYPES.has(type)) fileRow.size = size;
  return fileRow;
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
  const builder = new Builder(source, sink, carry.lastFd, { keepAll: true, input: 0, listed: new Map() });
  const state: FieldsState = { fieldsProcess: null, orphaned: false, afterWarning: false };
  readFields(text.split('\n'), 1, false, builder, state);
  if (state.fieldsProcess !== null) seenProcess(builder, state.fieldsProcess);
  return builder.build();
}

/**
 * Pure: one piece of lsof -F output read in pieces, as parseLsofPiece is for the column listing. A
 * piece must end with a whole file set: cut before a "p" or "f" line (the process set goes on in
 * the carry).
 */
export function parseLsofFieldsPiece(text: string, source: string, sink: LineSink, carry: LsofCarry, firstLine = 1): LsofPiece {
  const state = captureOf(carry);
  const b = (state.builder ??= new Builder(source, sink, carry.lastFd, { keepAll: false, input: state.input, listed: state.listed }));
  b.source = source;
  b.sink = sink;
  // Each line is kept apart from the piece's text: a record keeps its name, not the whole piece.
  readFields(text.split('\n').map(detach), firstLine, true, b, state);
  return b.takePiece(); // the process set may go on in the next piece: lsofCaptureProcesses() ends it

}

interface FieldsProcess { pid: number; tid: number | null; command: string; uid: number | null; line: number }
interface FieldsState { fieldsProcess: FieldsProcess | null; orphaned: boolean; afterWarning: boolean }

function seenProcess(b: Builder, p: FieldsProcess): void {
  b.seen(p.pid, p.command, p.uid, p.tid);
}

/** The field reader of parseLsofFields; `state` says where the previous piece stopped. */
function readFields(
  lines: string[], firstLine: number, piece: boolean, builder: Builder, state: FieldsState,
): void {
  const { source, sink } = builder;
  let proc = state.fieldsProcess;
  let file: Map<string, string> | null = null;
  let fileLine = 0;
  let fileText = '';
  let afterWarning = state.afterWarning;
  let orphaned = state.orphaned;

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
      size: f.get('s') ?? null,
      state: f.get('TST') ?? null,
      rxQueue: queue(f.get('TQR')),
      txQueue: queue(f.get('TQS')),
      fromFields: true,
    });
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    const lineNo = firstLine + i;
    if (piece && isPreamble(raw)) continue; // fdleak analyze passes over blank, "$ cmd" and "# note" lines
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
  state.fieldsProcess = proc;
  state.orphaned = orphaned;
  state.afterWarning = afterWarning;
}

/** "Z" -> "\"Z\"", a control byte or U+FFFD -> its code, so the message stays one clean line. */
function showTag(tag: string): string {
  const code = tag.codePointAt(0) ?? 0;
  return code > 0x20 && code < 0x7f ? `"${tag}"` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function queue(text: string | undefined): number | null {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : null;
}
