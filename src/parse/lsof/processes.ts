/**
 * The processes of an lsof capture and what was read of each one's fd table: which fds were listed
 * (a thread's row repeating an fd of its process counts once), how many of each kind, its threads.
 */
import { InputError } from '../../errors.js';
import type { FdKind } from '../../model/fd.js';
import type { Process } from '../../model/process.js';
import type { RepeatedTarget, Targets } from './targets.js';

/**
 * The fds of one process listed so far: fd number -> the input that listed it first. A byte an
 * fd in a typed array (two from the 255th input on) (fd numbers are small and dense, and a million-line capture lists millions;
 * a JS array took eight, and its copies as it grew were garbage of the same size); numbers past
 * DENSE in a Map. Shared by the inputs of one analysis: an fd that two captures list is counted
 * once, by the first.
 */
export class FdTable {
  private dense: Uint8Array | Uint16Array = new Uint8Array(16);
  private sparse: Map<number, number> | null = null;

  /** The input that listed `fd` first, or undefined. */
  get(fd: number): number | undefined {
    if (fd >= DENSE) return this.sparse?.get(fd);
    const v = fd < this.dense.length ? this.dense[fd]! : 0;
    return v === 0 ? undefined : v - 1;
  }

  set(fd: number, input: number): void {
    if (fd >= DENSE) return void (this.sparse ??= new Map()).set(fd, input);
    if (input >= 0xff && this.dense instanceof Uint8Array) this.dense = Uint16Array.from(this.dense); // the 255th input
    if (fd >= this.dense.length) {
      let size = this.dense.length * 2;
      while (size <= fd) size *= 2;
      const grown = this.dense instanceof Uint8Array ? new Uint8Array(size) : new Uint16Array(size);
      grown.set(this.dense);
      this.dense = grown;
    }
    this.dense[fd] = input + 1;
  }
}

/**
 * One more fd of `kind`. A property per kind by name: kinds[kind]++ with the kind a variable is a
 * megamorphic keyed load and store (V8's generic stubs, ~1% of the 1M-line socket-heavy bench's
 * samples under perf), once per new fd.
 */
function countKind(kinds: Record<FdKind, number>, kind: FdKind): void {
  switch (kind) {
    case 'socket': kinds.socket++; break;
    case 'file': kinds.file++; break;
    case 'pipe': kinds.pipe++; break;
    case 'anon_inode': kinds.anon_inode++; break;
    default: kinds.other++;
  }
}

/** Processes one capture may name (each costs about a kilobyte until the report is made). */
export const MAX_PROCESSES = 100_000;

/** fd numbers below this are held in FdTable's array (4 MiB at most), above in a Map. */
const DENSE = 1 << 21;

export interface ProcState {
  process: Process;
  tids: Set<number> | null;
  fds: FdTable;
  /** fds this read listed first, by kind. */
  kinds: Record<FdKind, number>;
  /** fds this input listed. */
  count: number;
  /** Socket fds: the row's text from TYPE on, so a thread row repeating it is known without decoding it again. */
  tails: string[] | null;
  /** How many tails it holds (ProcessTable.keepTail's budget). */
  tailCount: number;
  /** Targets of its fds above 2 (targets.ts), made at the first. */
  targets: Targets | null;
}

/**
 * Row texts (ProcState.tails) kept over all processes. Keeping only the last process's ones (a
 * process's thread rows follow its own) made a capture that repeats whole (cat lsof.txt lsof.txt,
 * the "as is" bench) read every repeated socket row again: 2.2x the time of keeping them all, as
 * an older build did, in memory that grew with the input. Past the budget, the processes that kept
 * tails first drop theirs. 65,536 tails of ~60 characters: a few MiB.
 */
const TAIL_BUDGET = 65_536;

/** How a listed fd counts: first listed by anyone, by an earlier input, or again by this input. */
export type Listing = 'new' | 'listed' | 'repeat';

export class ProcessTable {
  readonly procs = new Map<number, ProcState>();
  /** Processes first named since the last takeCreated(). */
  private created: ProcState[] = [];
  private last: ProcState | null = null;
  /** Processes holding tails, oldest first (from `tailsFrom` on), and how many tails they hold. */
  private readonly withTails: ProcState[] = [];
  private tailsFrom = 0;
  private tails = 0;

  constructor(private readonly listedFds: Map<number, FdTable>, readonly input: number, private readonly source = 'lsof') {}

  peek(pid: number): ProcState | undefined {
    if (this.last !== null && this.last.process.pid === pid) return this.last;
    const p = this.procs.get(pid);
    if (p !== undefined) this.last = p;
    return p;
  }

  /** The process of a row (created on its first row); a thread's row adds its tid. */
  get(pid: number, command: string, uid: number | null, tid: number | null): ProcState {
    const p = this.peek(pid) ?? this.create(pid, command, uid);
    if (tid !== null && tid !== pid) (p.tids ??= new Set()).add(tid);
    return p;
  }

  create(pid: number, command: string, uid: number | null): ProcState {
    if (this.procs.size >= MAX_PROCESSES) {
      throw new InputError(`more than ${MAX_PROCESSES.toLocaleString('en-US')} processes: more than fdleak reads in bounded memory (a box runs a few thousand); capture fewer at once (lsof -nP -p PID, or -u USER)`, { source: this.source });
    }
    let fds = this.listedFds.get(pid);
    if (fds === undefined) this.listedFds.set(pid, (fds = new FdTable()));
    const p: ProcState = {
      process: {
        pid, command, cmdline: null, uid, startTime: null, fdCount: 0,
        fdTableComplete: true, fdLimit: null, netns: null, threads: null, fdKinds: null,
      },
      tids: null, fds, kinds: { socket: 0, pipe: 0, file: 0, anon_inode: 0, other: 0 }, count: 0, tails: null, tailCount: 0, targets: null,
    };
    this.procs.set(pid, p);
    this.created.push(p);
    this.last = p;
    return p;
  }

  /** Counts fd `fdNo` of `p` unless this input listed it already. */
  list(p: ProcState, fdNo: number, kind: FdKind): Listing {
    const prev = p.fds.get(fdNo);
    if (prev === this.input) return 'repeat';
    p.fds.set(fdNo, this.input);
    p.count++;
    if (prev !== undefined) return 'listed';
    countKind(p.kinds, kind);
    return 'new';
  }

  /**
   * Keeps a socket row's text from TYPE on (`tail`) as fd `fdNo` of `p`, within TAIL_BUDGET: past it,
   * the oldest processes' tails go (a repeat of their rows is still known by its fd, only decoded again).
   */
  keepTail(p: ProcState, fdNo: number, tail: string): void {
    if (p.tails === null) {
      p.tails = [];
      this.withTails.push(p);
    }
    if (p.tails[fdNo] === undefined) {
      p.tailCount++;
      this.tails++;
    }
    p.tails[fdNo] = tail;
    while (this.tails > TAIL_BUDGET && this.withTails[this.tailsFrom] !== p) {
      const old = this.withTails[this.tailsFrom]!;
      this.withTails[this.tailsFrom++] = undefined!; // let it go
      this.tails -= old.tailCount;
      old.tails = null;
      old.tailCount = 0;
    }
    if (this.tailsFrom > 1024 && this.tailsFrom * 2 > this.withTails.length) {
      this.withTails.splice(0, this.tailsFrom);
      this.tailsFrom = 0;
    }
  }

  /** Whether this input listed fd `fdNo` of `pid` with the row text `tail` from TYPE on. */
  sameTail(pid: number, fdNo: number, text: string, from: number, to: number): boolean {
    const p = this.peek(pid);
    const tail = p?.fds.get(fdNo) === this.input ? p.tails?.[fdNo] : undefined;
    return tail !== undefined && to - from === tail.length && text.startsWith(tail, from);
  }

  takeCreated(): Array<{ pid: number; command: string }> {
    const out = this.created.map((p) => ({ pid: p.process.pid, command: p.process.command }));
    this.created = [];
    return out;
  }

  /** Every process read: fd counts, kinds, threads (when the capture lists tasks), targets held by several fds. */
  processes(tasksListed: boolean): Array<Process & { fdKinds: Record<FdKind, number>; repeatedTargets: RepeatedTarget[] }> {
    return [...this.procs.values()].map(({ process, tids, kinds, count, targets }) => ({
      ...process,
      fdCount: count,
      threads: tasksListed ? 1 + (tids?.size ?? 0) : null,
      fdKinds: kinds,
      repeatedTargets: targets === null ? [] : targets.repeated(),
    }));
  }
}
