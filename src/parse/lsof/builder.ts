/**
 * Turns the files lsof lists into records: processes (ProcessTable), fd numbers (FdNumbers), the
 * fds kept as records and the socket rows, one per socket however many fds share it. Files unlinked
 * while open (NAME "... (deleted)") are kept as fd records with their SIZE/OFF as st_size; the
 * targets of the other fds above 2 are tallied per process (targets.ts) without a record.
 */
import type { Fd, FdKind } from '../../model/fd.js';
import type { Owner, Socket } from '../../model/socket.js';
import type { LineSink } from '../../util/skips.js';
import { isDigits, quote } from '../text.js';
import type { LsofFile } from './file.js';
import { FD_NUMBER, FD_TRUNCATED, FILE_TYPES, isDeletedName, NON_FD, SOCKET_TYPES } from './file.js';
import { FdNumbers } from './fd-numbers.js';
import type { FdTable, Listing, ProcState } from './processes.js';
import { ProcessTable } from './processes.js';
import { inetSocket, TABLE_TYPES, tableSocket } from './sockets.js';
import { tallyKey, Targets } from './targets.js';

/** What one read of a capture (or a piece of it) added. */
export interface LsofPiece {
  /** Processes first named in it. */
  processes: Array<{ pid: number; command: string }>;
  /** Its new fds: socket fds only, or every fd when the reader keeps all. */
  fds: Fd[];
  sockets: Socket[];
  /** fds and socket rows read. */
  records: number;
}

/**
 * Where socket rows go instead of records (capture/fold.ts): `socket()` is given every row with its
 * owner and key, and says whether the socket is new; `adopt()` takes the rows kept so far.
 */
export interface SocketSink {
  socket(socket: Socket, owner: Owner, key: string | number): boolean;
  adopt(byKey: Map<string | number, Socket>): void;
  // Rows the column reader read in place, without a Socket (fold.ts says how they count):
  /** Whether a row of `pid` keyed by `inode` may go to tcpRow() or tableRow(), rather than socket(). */
  fresh(inode: number, pid: number): boolean;
  tcpRow(pid: number, inode: number, closeWait: boolean, text: string, ls: number, le: number, lport: number, rs: number, re: number, rport: number): boolean;
  tableRow(pid: number, inode: number, state: string): boolean;
  /** A socket fd without a row (an lsof "sock" row), without its record: `inode` a number where plainInodeShape says so, else its text. */
  sockFd(pid: number, fd: number, inode: number | string, target: string, hint: string | null): void;
}

/**
 * Whether an inode text of `length` characters, the first `first` (a char code), is keyed as its
 * number in a fold: at most 9 characters, not led by a 0 unless it is "0" (a longer or zero-led
 * text is kept as a text). The column reader asks it of a row's bytes, the fold of a record's text.
 */
export function plainInodeShape(length: number, first: number): boolean {
  return length <= 9 && (length === 1 || first !== 48);
}

export interface BuilderOptions {
  source: string;
  sink: LineSink;
  /** Keep a record of every fd, or of socket fds only (the others are counted per kind). */
  keepAll: boolean;
  /** Without keepAll: records of socket fds without a row of their own only (see LsofReaderOptions). */
  rowless?: boolean;
  /** fds listed so far by the inputs of one analysis, and this input's number among them. */
  listed: Map<number, FdTable>;
  input: number;
  /** Last fd numbers, to carry "*NNN" fds across captures read in turn. */
  lastFd?: Map<string, number>;
}

export class Builder {
  readonly table: ProcessTable;
  readonly numbers: FdNumbers;
  readonly source: string;
  readonly sink: LineSink;
  readonly keepAll: boolean;
  readonly rowless: boolean;
  /** Whether the capture lists tasks (TID column, -F "K"): then threads can be counted. */
  tasksListed = false;
  private fds: Fd[] = [];
  private sockets: Socket[] = [];
  private records = 0;
  private readonly socketByKey = new Map<string | number, Socket>();
  private fold: SocketSink | null = null;

  constructor(options: BuilderOptions) {
    this.source = options.source;
    this.sink = options.sink;
    this.keepAll = options.keepAll;
    this.rowless = options.rowless ?? false;
    this.table = new ProcessTable(options.listed, options.input, options.source);
    this.numbers = new FdNumbers(options.lastFd);
  }

  bad(line: number, text: string, reason: string): void {
    this.sink.bad(reason, this.source, line, text);
  }

  /** A file row the column reader only counts (not a socket, not kept): its fd of `kind`; whether no input listed it before. */
  count(p: ProcState, tid: number | null, fdNo: number | null, kind: FdKind): boolean {
    if (fdNo === null) return false;
    this.numbers.listed(p.process.pid, tid, fdNo);
    const listed = this.table.list(p, fdNo, kind);
    if (listed !== 'repeat') this.records++;
    return listed === 'new';
  }

  /** A file read whole; `tail` is a socket row's text from TYPE on (see ProcState.tails). */
  add(f: LsofFile, tail: string | null = null): void {
    if (f.pid === 0) return this.bad(f.line, f.text, 'expected a positive PID');
    const proc = (): ProcState => this.table.get(f.pid, f.command, f.uid, f.tid);
    if (f.fd === 'NOFD') {
      proc().process.fdTableComplete = false;
      return;
    }
    // Both readers strip the mode and lock characters: an FD is mostly plain digits.
    const digits = f.fd !== null && f.fd.length <= 10 && isDigits(f.fd);
    const number = f.fd === null ? null : digits ? [f.fd, f.fd] : FD_NUMBER.exec(f.fd);
    const truncated = f.fd === null || digits ? null : FD_TRUNCATED.exec(f.fd);
    if (f.fd !== null && number === null && truncated === null && !NON_FD.test(f.fd)) return this.bad(f.line, f.text, `expected an FD (a number, cwd, txt, mem, ...), found ${quote(f.fd)}`);
    let fdNo = number === null ? null : Number(number[1]);
    if (truncated !== null) fdNo = this.numbers.truncated(f.pid, f.tid, Number(truncated[1]));
    if (fdNo !== null) this.numbers.listed(f.pid, f.tid, fdNo);
    if (f.fd === null) proc().process.fdTableComplete = false; // -F without "f": fds unknown
    const type = f.type;
    let socket: Socket | null = null;
    let hint: string | null = null;
    let inode: string | null = null;
    let kind: FdKind = 'other';
    if (SOCKET_TYPES.has(type)) {
      kind = 'socket';
      if (type === 'IPv4' || type === 'IPv6') {
        inode = f.device !== null && isDigits(f.device) ? f.device : null;
        const decoded = inetSocket(f, inode, this.source);
        if (typeof decoded === 'string') return this.bad(f.line, f.text, decoded);
        socket = decoded;
      } else {
        inode = f.node !== null && isDigits(f.node) ? f.node : null;
        // -F without "i" has no inode: the fd still counts, it just cannot be joined to a table
        if (inode === null && !f.fromFields) return this.bad(f.line, f.text, `expected the socket inode in the NODE column of a ${type} row`);
        if (type === 'sock') {
          // a socket lsof found in no /proc/net table of its netns: "protocol: TCP" says what it is
          const m = /^protocol: (\S+)/.exec(f.name);
          hint = m === null ? null : m[1]!;
        } else if (TABLE_TYPES[type] !== undefined && inode !== null) {
          socket = tableSocket(f, TABLE_TYPES[type]!, inode, this.source);
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

    const p = proc();
    if (fdNo !== null) {
      const listed = this.table.list(p, fdNo, kind);
      if (listed === 'repeat') return; // the same fd again, on a thread's row
      this.records++;
      const deleted = FILE_TYPES.has(type) && isDeletedName(f.name);
      // rowless: a socket fd whose row holds its inode is no orphan, and the row names its owner
      // (pid, fd): it needs no record of its own (memory: most rows of a big capture are these).
      const socketRecord = kind === 'socket' && (!this.rowless || socket === null || inode === null);
      if (listed === 'new' && (this.keepAll || socketRecord || deleted)) {
        const fd: Fd = { pid: f.pid, fd: fdNo, kind, inode, target: f.name, hint, origin: { source: this.source, line: f.line } };
        if (deleted) {
          fd.deleted = true;
          fd.size = f.size !== undefined && f.size !== null && f.size.length < 16 && isDigits(f.size) ? Number(f.size) : null;
          fd.diskBytes = null; // lsof gives no blocks
        }
        this.fds.push(fd);
      }
      if (listed === 'new' && fdNo > 2) {
        const key = tallyKey(kind, f.name, f.node);
        if (key !== null) (p.targets ??= new Targets()).add(key, kind);
      }
      if (kind === 'socket' && tail !== null) this.table.keepTail(p, fdNo, tail);
    }
    if (socket !== null) this.addSocket(socket, f, fdNo, inode, p);
  }

  /**
   * One row per socket: by inode; without one (-F without "d"), a connected TCP socket is still one
   * per 4-tuple in a netns (a socket shared after fork() stays one row); listeners may be distinct
   * (SO_REUSEPORT): per fd. An inode is keyed as the number it is (cheaper to hash), unless its text
   * is not the number's own ("0123"), so that two texts never share a key.
   */
  private addSocket(socket: Socket, f: LsofFile, fdNo: number | null, inode: string | null, p: ProcState): void {
    const key = inode !== null ? (inode.length < 16 && (inode.length === 1 || inode.charCodeAt(0) !== 48) ? Number(inode) : inode) :
      (socket.proto === 'tcp' && socket.remote !== null ? `tcp|${f.name}` : fdNo !== null ? `${f.pid}:${fdNo}` : `${f.pid}|${f.type}|${f.name}`);
    const owner = { pid: f.pid, fd: fdNo, command: p.process.command };
    if (this.fold !== null) {
      if (this.fold.socket(socket, owner, key)) this.records++;
      return;
    }
    const existing = this.socketByKey.get(key);
    if (existing === undefined) {
      // a literal: push() onto an empty array reserves room for 17 (memory: one per row)
      socket.owners = [owner];
      this.socketByKey.set(key, socket);
      this.sockets.push(socket);
      this.records++;
    } else if (!existing.owners.some((o) => o.pid === owner.pid && o.fd === owner.fd)) {
      existing.owners.push(owner); // a socket shared after fork()
    }
  }

  /** Whether socket rows go to a fold (the column reader then reads plain socket rows in place: listSocket). */
  get folding(): boolean {
    return this.fold !== null;
  }

  /** The fold socket rows go to (while folding only). */
  get folder(): SocketSink {
    return this.fold!;
  }

  /**
   * A socket fd of a row the column reader reads in place (the socket goes to the fold's tcpRow or tableRow): listed (a
   * thread's repeat adds nothing: 'repeat'); the reader keeps its tail unless it is a repeat.
   */
  listSocket(p: ProcState, tid: number | null, fdNo: number): Listing {
    this.numbers.listed(p.process.pid, tid, fdNo);
    const listed = this.table.list(p, fdNo, 'socket');
    if (listed !== 'repeat') this.records++;
    return listed;
  }

  /** A socket the fold took from a row read in place (tcpRow, tableRow): a new one is a record read. */
  folded(isNew: boolean): void {
    if (isNew) this.records++;
  }

  /**
   * A socket fd the column reader read in place (an lsof "sock" row of a folded capture), straight
   * into the fold: as add() would take its record (the fold keeps no line number).
   */
  sockFd(pid: number, fd: number, inode: number | string, target: string, hint: string | null): void {
    this.fold!.sockFd(pid, fd, inode, target, hint);
  }

  /** From now on, socket rows go to `sink`, with every row kept so far (between reads). */
  foldInto(sink: SocketSink): void {
    sink.adopt(this.socketByKey);
    this.socketByKey.clear();
    this.fold = sink;
  }

  /** What was read since the last call; the state stays for the next read. */
  takePiece(): LsofPiece {
    this.numbers.flush();
    const piece = { processes: this.table.takeCreated(), fds: this.fds, sockets: this.sockets, records: this.records };
    this.fds = [];
    this.sockets = [];
    this.records = 0;
    return piece;
  }
}
