/**
 * Whole row texts of an lsof capture that repeats itself (`cat lsof.txt lsof.txt`, a capture taken
 * in a loop and pasted together), each with what its row meant: a repeat of fd `fd` of `pid`
 * (thread `tid`) that this input listed already. Such a row read again means exactly that again, so
 * ColumnsReader checks the next row against the row that followed this one last time (one string
 * compare) before reading it by columns.
 *
 * Only rows of a run of rows (one process's or thread's) met before in this input are kept: those
 * are the rows a repeating capture has, while a thread's rows repeating its process's fds the first
 * time (every capture of threads has them) are not, so a capture that does not repeat keeps nothing.
 * Bounded: MAX_ROWS rows and MAX_CHARS characters, then nothing more is kept.
 *
 * Measured on the 1M-line "as is" lsof capture (its rows repeat whole every 41,824 lines): see
 * ColumnsReader.replay. Captures that do not repeat (every row distinct, socket-heavy) keep nothing.
 */
import { detach } from '../../capture/text-input.js';

/** Rows kept at most (as ProcessTable's TAIL_BUDGET), and their characters: ~8 MiB of text. */
const MAX_ROWS = 65_536;
const MAX_CHARS = 8 << 20;
/** Thread runs remembered (a number each). */
const MAX_RUNS = 65_536;

export class RowMemo {
  private readonly texts: string[] = [];
  private readonly index = new Map<string, number>();
  private chars = 0;
  readonly pids: number[] = [];
  /** The row's TID, -1 for none. */
  readonly tids: number[] = [];
  readonly fds: number[] = [];
  /** Whether the row is a socket's (a socket's repeat is known by its kept tail: ProcessTable.sameTail). */
  readonly sockets: boolean[] = [];
  /** The row expected next: the one that followed the last row met again. */
  private next = 0;
  /** The run (pid, tid) of the last row offered to keep(), and whether it was met before. */
  private runPid = -1;
  private runTid: number | null = null;
  private runSeen = false;
  private readonly runs = new Set<number>();

  /** The row kept as the expected next one, if text[ls, le) is that row: its index; else -1. */
  expected(text: string, ls: number, le: number): number {
    const k = this.next;
    if (k >= this.texts.length) return -1;
    const t = this.texts[k]!;
    // a slice compared whole: faster here than startsWith or lastIndexOf at ls (a microbenchmark on
    // the capture's rows: ~7 ms vs ~50 ms (startsWith) for 72k rows)
    return le - ls === t.length && text.slice(ls, le) === t ? k : -1;
  }

  /** Row k was met again: the row after it is expected next. */
  met(k: number): void {
    this.next = k + 1;
  }

  /**
   * text[ls, le) is a repeat of fd `fd` of `pid` (thread `tid`) that this input listed already: kept
   * if its run of rows was met before. A process's own rows repeat an fd only when the capture
   * repeats; a thread's rows always do (its process's fds), so a thread's run counts as met before
   * when an earlier run of repeats had its (pid, tid) (runs: the first MAX_RUNS runs of threads).
   */
  keep(text: string, ls: number, le: number, pid: number, tid: number | null, fd: number, socket: boolean): void {
    if (pid !== this.runPid || tid !== this.runTid) {
      this.runPid = pid;
      this.runTid = tid;
      const key = pid * 8_388_608 + (tid ?? 0); // pid_max is 2^22 at most
      this.runSeen = tid === null || tid === pid || this.runs.has(key);
      if (!this.runSeen && this.runs.size < MAX_RUNS) this.runs.add(key);
    }
    if (!this.runSeen) return;
    const row = text.slice(ls, le);
    const k = this.index.get(row);
    if (k !== undefined) return this.met(k);
    if (this.texts.length >= MAX_ROWS || this.chars + row.length > MAX_CHARS) return;
    // a copy: the row must not keep the piece it was cut from
    const copy = detach(row);
    this.index.set(copy, this.texts.length);
    this.texts.push(copy);
    this.chars += copy.length;
    this.pids.push(pid);
    this.tids.push(tid ?? -1);
    this.fds.push(fd);
    this.sockets.push(socket);
    this.next = this.texts.length;
  }

  /** Forgets every row (another header: rows read differently from now on). */
  clear(): void {
    this.texts.length = this.pids.length = this.tids.length = this.fds.length = this.sockets.length = 0;
    this.index.clear();
    this.chars = 0;
    this.next = 0;
    this.runPid = -1;
    this.runTid = null;
    this.runs.clear();
  }
}
