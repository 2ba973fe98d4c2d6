/**
 * The fd lifecycle of every traced task, from the syscalls strace reports (src/parse/strace.ts).
 * - Creators: open, openat, openat2, creat, socket, socketpair, accept, accept4, pipe, pipe2, dup,
 *   dup2, dup3, fcntl F_DUPFD/F_DUPFD_CLOEXEC, eventfd(2), epoll_create(1), inotify_init(1),
 *   signalfd(4), timerfd_create, memfd_create, pidfd_open, pidfd_getfd, recvmsg/recvmmsg SCM_RIGHTS.
 * - Enders: close, close_range, dup2/dup3 onto an open fd, execve (the close-on-exec fds), the
 *   exit of the last task sharing the table.
 * Threads (CLONE_THREAD) and CLONE_FILES children share one table; a fork gets a copy, whose
 * entries are marked inherited (they belong to the parent: closing or keeping them in the child
 * never counts as the child's leak, and never touches the parent's entry).
 * Memory: one entry per open fd, one record per distinct opening stack; nothing per event.
 */
import type { SyscallLine, StraceEvent } from '../parse/strace.js';
import { fdArg, fdTokens, sockaddrText, splitArgs } from '../parse/strace.js';
import type { FdWhat } from './fd-kind.js';
import { fdWhat, socketLabel } from './fd-kind.js';

/** A distinct opening stack and what happened to the fds it opened in the window. */
export interface StackRecord {
  id: number;
  /** Frames as strace printed them, innermost first. */
  frames: readonly string[];
  /** fds it opened in the window. */
  opened: number;
  /** ... of which closed in the window (close, close_range, dup2 over, execve close-on-exec). */
  closed: number;
  /** fds it opened that were still open when their process exited: key `${tgid}\0${label}\0${target}`. */
  heldToExit: Map<string, number>;
}

/** One open fd of a table. */
export interface OpenFd {
  /** null: opened before the window (or the stack is unknown). */
  stack: StackRecord | null;
  what: FdWhat;
  /** "to 127.0.0.1:3306", "on 127.0.0.1:8080", "/var/log/x.log", "" */
  target: string;
  cloexec: boolean;
  /** A fork's copy of its parent's fd: never the child's leak. */
  inherited: boolean;
}

interface Table {
  fds: Map<number, OpenFd>;
  /** Tasks sharing it. */
  tasks: number;
  /** The process (thread group) it belongs to. */
  tgid: number;
}

/** A process seen in the trace. */
export interface TracedProcess {
  tgid: number;
  /** The tgid that forked it, when the fork was traced. */
  parent: number | null;
  /** Programs it exec'd in the window, in order. */
  execs: string[];
  exited: boolean;
}

/** Syscalls whose stack is kept: those that create fds. */
export const CREATORS = new Set([
  'open', 'openat', 'openat2', 'creat', 'socket', 'socketpair', 'accept', 'accept4', 'pipe', 'pipe2', 'dup', 'dup2',
  'dup3', 'fcntl', 'eventfd', 'eventfd2', 'epoll_create', 'epoll_create1', 'inotify_init', 'inotify_init1', 'signalfd',
  'signalfd4', 'timerfd_create', 'memfd_create', 'pidfd_open', 'pidfd_getfd', 'recvmsg', 'recvmmsg',
]);

/** Every syscall strace is asked for (`?`: not an error on an arch without it, e.g. open on arm64). */
export const TRACED_SYSCALLS = [
  ...CREATORS, 'close', 'close_range', 'execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork', 'connect',
].map((n) => `?${n}`).join(',');

const ALWAYS_CLOEXEC = new Set(['pidfd_open', 'pidfd_getfd']);

export class FdTracker {
  private readonly tasks = new Map<number, Table>();
  private readonly stacks = new Map<string, StackRecord>();
  readonly processes = new Map<number, TracedProcess>();
  /** Syscalls that failed with EMFILE/ENFILE (the limit was hit in the window). */
  limitErrors = 0;
  events = 0;

  /** `tgidOf(tid)`: the process a task we have not seen born belongs to (/proc/<tid>/status Tgid). */
  constructor(private readonly tgidOf: (tid: number) => number = (tid) => tid) {}

  /** Applies one event. */
  apply(event: StraceEvent): void {
    this.events++;
    if (event.type === 'exit') return this.exitTask(event.tid);
    const call = event;
    // A refused or pending connect still names the peer the socket was for.
    if (call.name === 'connect') return this.onConnect(call);
    if (call.ret === -1) {
      if (call.errno === 'EMFILE' || call.errno === 'ENFILE') this.limitErrors++;
      return;
    }
    if (call.ret === null) return;
    switch (call.name) {
      case 'close': return this.onClose(call);
      case 'close_range': return this.onCloseRange(call);
      case 'execve': case 'execveat': return this.onExec(call);
      case 'clone': case 'clone3': case 'fork': case 'vfork': return this.onClone(call);
      case 'fcntl': return this.onFcntl(call);
      case 'dup2': case 'dup3': {
        const table = this.table(call.tid);
        const [, newArg, flags] = splitArgs(call.args);
        const from = fdArg(splitArgs(call.args)[0]);
        const newFd = fdArg(newArg)?.fd;
        if (newFd === undefined || from?.fd === newFd) return;
        this.end(table, newFd);
        return this.add(call, table, newFd, call.retDeco ?? from?.deco ?? null, flags?.includes('O_CLOEXEC') === true);
      }
      case 'pipe': case 'pipe2': case 'socketpair': {
        const table = this.table(call.tid);
        const cloexec = call.args.includes('CLOEXEC');
        for (const t of fdTokens(call.args).slice(-2)) this.add(call, table, t.fd, t.deco, cloexec);
        return;
      }
      case 'recvmsg': case 'recvmmsg': {
        const rights = call.args.indexOf('SCM_RIGHTS');
        if (rights < 0) return;
        const data = call.args.indexOf('cmsg_data=[', rights);
        if (data < 0) return;
        const table = this.table(call.tid);
        const end = call.args.indexOf(']}', data);
        const cloexec = call.args.includes('MSG_CMSG_CLOEXEC');
        for (const t of fdTokens(call.args.slice(data, end < 0 ? undefined : end + 1))) this.add(call, table, t.fd, t.deco, cloexec);
        return;
      }
      default:
        if (!CREATORS.has(call.name) || call.ret < 0) return;
        return this.add(call, this.table(call.tid), call.ret, call.retDeco,
          ALWAYS_CLOEXEC.has(call.name) || call.args.includes('CLOEXEC'));
    }
  }

  /** Distinct opening stacks seen. */
  stackRecords(): IterableIterator<StackRecord> {
    return this.stacks.values();
  }

  /** Every fd opened in the window and still open, with its owner: the leak candidates. */
  *openFds(): Generator<{ tgid: number; fd: number; open: OpenFd & { stack: StackRecord } }> {
    const seen = new Set<Table>();
    for (const table of this.tasks.values()) {
      if (seen.has(table)) continue;
      seen.add(table);
      for (const [fd, open] of table.fds) {
        if (open.stack !== null && !open.inherited) yield { tgid: table.tgid, fd, open: open as OpenFd & { stack: StackRecord } };
      }
    }
  }

  /** Number of fds held in the tables (open in the window or before): what memory grows with. */
  heldFds(): number {
    let n = 0;
    for (const table of new Set(this.tasks.values())) n += table.fds.size;
    return n;
  }

  private table(tid: number): Table {
    let table = this.tasks.get(tid);
    if (table !== undefined) return table;
    const tgid = this.tgidOf(tid);
    table = tgid === tid ? undefined : this.tasks.get(tgid);
    if (table === undefined) {
      table = { fds: new Map(), tasks: 0, tgid };
      this.process(tgid, null);
    }
    table.tasks++;
    this.tasks.set(tid, table);
    return table;
  }

  private process(tgid: number, parent: number | null): TracedProcess {
    let p = this.processes.get(tgid);
    if (p === undefined) this.processes.set(tgid, (p = { tgid, parent, execs: [], exited: false }));
    return p;
  }

  private stackOf(frames: readonly string[]): StackRecord {
    const key = frames.join('\n');
    let s = this.stacks.get(key);
    if (s === undefined) this.stacks.set(key, (s = { id: this.stacks.size + 1, frames, opened: 0, closed: 0, heldToExit: new Map() }));
    return s;
  }

  private add(call: SyscallLine, table: Table, fd: number, deco: string | null, cloexec: boolean): void {
    this.end(table, fd); // a number reused without a close we saw (opened before an attach, or missed)
    const stack = this.stackOf(call.stack);
    stack.opened++;
    const what = fdWhat(deco);
    if (what.kind === 'socket' && what.label === 'socket') what.label = this.socketLabelOf(call, table);
    const accepted = call.name.startsWith('accept');
    const target = accepted ? (what.local === null ? 'accepted' : `accepted on ${what.local}`)
      : what.peer !== null ? `to ${what.peer}`
      : what.kind === 'socket' && what.local !== null ? `on ${what.local}`
      : what.kind === 'file' && what.local !== null ? what.local : '';
    table.fds.set(fd, { stack, what, target, cloexec, inherited: false });
  }

  /** Protocol of a new socket from its creating call: socket()/socketpair() arguments, an accept's listener or address family. */
  private socketLabelOf(call: SyscallLine, table: Table): string {
    const args = splitArgs(call.args);
    if (call.name === 'socket' || call.name === 'socketpair') return socketLabel(args[0] ?? '', args[1] ?? '');
    if (call.name.startsWith('accept')) {
      const listener = table.fds.get(fdArg(args[0])?.fd ?? -1);
      if (listener !== undefined && listener.what.label !== 'socket') return listener.what.label;
      const family = /sa_family=(AF_[A-Z0-9]+)/.exec(args[1] ?? '')?.[1];
      if (family !== undefined) return socketLabel(family, 'SOCK_STREAM');
    }
    if (call.name === 'dup' || call.name === 'dup2' || call.name === 'dup3' || call.name === 'fcntl') {
      const from = table.fds.get(fdArg(args[0])?.fd ?? -1);
      if (from !== undefined) return from.what.label;
    }
    return 'socket';
  }

  /** The fd leaves the table; counted as closed when it was opened in the window. */
  private end(table: Table, fd: number): void {
    const open = table.fds.get(fd);
    if (open === undefined) return;
    table.fds.delete(fd);
    if (open.stack !== null && !open.inherited) open.stack.closed++;
  }

  private onClose(call: SyscallLine): void {
    const fd = fdArg(splitArgs(call.args)[0]);
    if (fd !== null) this.end(this.table(call.tid), fd.fd);
  }

  private onCloseRange(call: SyscallLine): void {
    const [a, b, flags = ''] = splitArgs(call.args);
    const first = Number(fdArg(a)?.fd ?? Number.NaN);
    const last = Number(b);
    if (!Number.isFinite(first) || !Number.isFinite(last)) return;
    let table = this.table(call.tid);
    if (flags.includes('CLOSE_RANGE_UNSHARE') && table.tasks > 1) table = this.unshare(call.tid, table, table.tgid, false);
    for (const [fd, open] of [...table.fds]) {
      if (fd < first || fd > last) continue;
      if (flags.includes('CLOSE_RANGE_CLOEXEC')) open.cloexec = true;
      else this.end(table, fd);
    }
  }

  private onConnect(call: SyscallLine): void {
    const [fdText, addr] = splitArgs(call.args);
    const fd = fdArg(fdText);
    const peer = sockaddrText(addr);
    if (fd === null || peer === null) return;
    const open = this.table(call.tid).fds.get(fd.fd);
    if (open !== undefined && !open.inherited) open.target = `to ${peer}`;
  }

  private onFcntl(call: SyscallLine): void {
    const [fdText, cmd = '', arg = ''] = splitArgs(call.args);
    const table = this.table(call.tid);
    if (cmd === 'F_DUPFD' || cmd === 'F_DUPFD_CLOEXEC') {
      this.add(call, table, call.ret!, call.retDeco ?? fdArg(fdText)?.deco ?? null, cmd === 'F_DUPFD_CLOEXEC');
    } else if (cmd === 'F_SETFD') {
      const open = table.fds.get(fdArg(fdText)?.fd ?? -1);
      if (open !== undefined) open.cloexec = arg.includes('FD_CLOEXEC') || /^[13579]$/.test(arg);
    }
  }

  private onExec(call: SyscallLine): void {
    const table = this.table(call.tid);
    for (const [fd, open] of [...table.fds]) if (open.cloexec) this.end(table, fd);
    const path = /^"((?:[^"\\]|\\.)*)"/.exec(splitArgs(call.args)[call.name === 'execveat' ? 1 : 0] ?? '');
    if (path !== null) this.process(table.tgid, null).execs.push(path[1]!);
  }

  private onClone(call: SyscallLine): void {
    const child = call.ret!;
    if (child <= 0) return;
    const parent = this.table(call.tid);
    const flags = call.name === 'fork' || call.name === 'vfork' ? '' : call.args;
    const thread = flags.includes('CLONE_THREAD');
    const shared = flags.includes('CLONE_FILES');
    const existing = this.tasks.get(child); // the child's first line came before this one
    if (shared) {
      if (existing !== undefined && existing !== parent) {
        // Its first lines came before this one, on a table of its own: they belong to the shared one.
        for (const [fd, open] of existing.fds) parent.fds.set(fd, open);
        existing.fds.clear();
        this.dropTask(child, existing, false);
      }
      if (existing !== parent) {
        parent.tasks++;
        this.tasks.set(child, parent);
      }
      if (!thread) this.process(child, parent.tgid);
      return;
    }
    const copy = existing ?? { fds: new Map(), tasks: 1, tgid: child };
    for (const [fd, open] of parent.fds) if (!copy.fds.has(fd)) copy.fds.set(fd, { ...open, inherited: open.inherited || open.stack !== null });
    this.tasks.set(child, copy);
    const p = this.process(child, parent.tgid);
    p.parent = parent.tgid;
  }

  /** CLOSE_RANGE_UNSHARE: the task gets its own copy of the table. */
  private unshare(tid: number, table: Table, tgid: number, inherited: boolean): Table {
    const copy: Table = { fds: new Map(), tasks: 1, tgid };
    for (const [fd, open] of table.fds) copy.fds.set(fd, { ...open, inherited: open.inherited || inherited });
    table.tasks--;
    this.tasks.set(tid, copy);
    return copy;
  }

  private exitTask(tid: number): void {
    const table = this.tasks.get(tid);
    if (table !== undefined) this.dropTask(tid, table, true);
  }

  private dropTask(tid: number, table: Table, exited: boolean): void {
    this.tasks.delete(tid);
    if (--table.tasks > 0) return;
    // The last task of the table: what its process opened and never closed was held to its exit.
    if (exited) {
      for (const open of table.fds.values()) {
        if (open.stack === null || open.inherited) continue;
        const key = `${table.tgid}\0${open.what.label}\0${open.target}`;
        open.stack.heldToExit.set(key, (open.stack.heldToExit.get(key) ?? 0) + 1);
      }
      const p = this.processes.get(table.tgid);
      if (p !== undefined) p.exited = true;
    }
    table.fds.clear();
  }
}
