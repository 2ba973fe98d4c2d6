/**
 * Whole row texts of an lsof capture that repeats itself (`cat lsof.txt lsof.txt`, a capture taken
 * in a loop and pasted together), each with what its row meant: a repeat of fd `fd` of `pid`
 * (thread `tid`) that this input listed already. Such a row read again means exactly that again, so
 * ColumnsReader asks replayRows() first, at each line: the rows there that are, one after another,
 * the rows that followed each other here last time are done again (ColumnsReader.replay) without
 * being read by columns.
 *
 * Only rows of a run of rows (one process's or thread's) met before in this input are kept: those
 * are the rows a repeating capture has, while a thread's rows repeating its process's fds the first
 * time (every capture of threads has them) are not, so a capture that does not repeat keeps nothing.
 * Bounded: MAX_ROWS rows and MAX_CHARS characters, then nothing more is kept.
 *
 * Measured on the 1M-line "as is" lsof capture (its rows repeat whole every 41,824 lines), the
 * column reader alone in-process (CPU, warm, load ~8, so roughly): the 22 copies after the second
 * cost ~141 ms with a compare a row (and a Map of row texts), ~3-10 ms done in blocks; the second
 * copy (read, and kept) ~70 ms, ~45 ms (~15 ms of it keeping); the whole reader ~300 -> ~150 ms.
 * Captures that do not repeat (every row distinct, socket-heavy) keep nothing, and readLines does
 * not ask (expecting).
 */
import { detach } from '../../capture/text-input.js';

/** Rows kept at most (as ProcessTable's TAIL_BUDGET), and their characters: ~8 MiB of text. */
const MAX_ROWS = 65_536;
const MAX_CHARS = 8 << 20;
/** Thread runs remembered (a number each). */
const MAX_RUNS = 65_536;
/** Rows with no fd number waiting at most (a process maps ~100 files: its "mem" rows). */
const MAX_PENDING = 1024;
/** Rows compared at once at most by replayRows (~1,000 rows of ~110 characters: the most a 48 KiB chunk holds). */
const MAX_STRIDE = 1024;

/** A run's number: pid and tid (0 for none) in one (pid_max is 2^22 at most). */
const runKey = (pid: number, tid: number | null): number => pid * 8_388_608 + (tid ?? 0);

export class RowMemo {
  private readonly texts: string[] = [];
  /** Per run (runKey): the row kept for each fd number. */
  private readonly byRun = new Map<number, number[]>();
  /** The last run looked up in byRun, and its rows (null: none yet). */
  private lookupKey = -1;
  private lookupRows: number[] | null = null;
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
  /**
   * texts[0, built) joined by "\n" (made when replayRows first needs rows past `built`, and again
   * once twice as many are kept), and where row k starts in it: starts[built] is its length + 1.
   */
  private block = '';
  private starts: Int32Array = new Int32Array(1);
  private built = 0;
  /** Rows replayRows compares at once next: doubles while they match, back to 1 when they do not. */
  private stride = 1;
  /** Where the rows the last replayRows() replayed end: the start of the line after them. */
  after = 0;
  /**
   * Rows with no fd number (cwd, rtd, txt, mem) of the run being read, text[ls, le) pairs in
   * `pendingText`, waiting for a repeat of the run to be kept (keep()): then they are kept before it.
   */
  private readonly pending: number[] = [];
  private pendingText = '';
  private pendingKey = -1;
  /** Per run (runKey): its rows with no fd number kept, in the order kept. */
  private readonly namedByRun = new Map<number, number[]>();

  /** Row k was met again: the row after it is expected next. */
  private met(k: number): void {
    this.next = k + 1;
  }

  /** Whether a row is expected next (replayRows may do some again). */
  get expecting(): boolean {
    return this.next < this.texts.length;
  }

  /**
   * The lines of text (whole lines; `end` its length) from `ls` on that are the rows expected next,
   * in the order they were kept, each done again by `replay` (which returns false for a row it cannot
   * do again: that row and those after it are left to be read): how many lines were, and `after`
   * set past them. The expected row alone first (its line may end in CRLF), then blocks of rows
   * compared as one string, `stride` rows, doubling while they match: on the "as is" capture most
   * lines are met in blocks of hundreds, one compare each.
   */
  replayRows(text: string, ls: number, end: number, replay: (k: number) => boolean): number {
    let k = this.next;
    const n = this.texts.length;
    if (k >= n) return 0;
    const t = this.texts[k]!;
    let at = ls + t.length;
    if (at > end) return 0;
    if (at < end) {
      let c = text.charCodeAt(at);
      if (c === 13) c = ++at === end ? 10 : text.charCodeAt(at); // CRLF
      if (c !== 10) return 0;
    }
    if (text.slice(ls, ls + t.length) !== t || !replay(k)) return 0;
    at++;
    k++;
    let rows = 1;
    if (k >= this.built && k < n && n >= 2 * this.built) this.build();
    while (at < end && k < this.built) {
      const { starts } = this;
      const s = starts[k]!;
      let m = Math.min(this.stride, this.built - k);
      // as many of those rows as text holds, up to its end
      if (at + starts[k + m]! - 1 - s > end) {
        let lo = 0; // rows k..k+lo-1 fit, k..k+m do not
        while (m - lo > 1) {
          const mid = (lo + m) >> 1;
          if (at + starts[k + mid]! - 1 - s <= end) lo = mid;
          else m = mid;
        }
        if (lo === 0) break;
        m = lo;
      }
      const len = starts[k + m]! - 1 - s;
      if ((at + len < end && text.charCodeAt(at + len) !== 10) || text.slice(at, at + len) !== this.block.slice(s, s + len)) {
        this.stride = 1;
        break;
      }
      for (let i = k; i < k + m; i++) {
        if (!replay(i)) {
          this.next = i;
          this.after = at + starts[i]! - s;
          return rows + i - k;
        }
      }
      rows += m;
      k += m;
      at += len + 1;
      if (this.stride < MAX_STRIDE) this.stride *= 2;
    }
    this.next = k;
    this.after = at;
    return rows;
  }

  /** The block of every row kept so far. */
  private build(): void {
    const n = this.texts.length;
    const starts = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) starts[i + 1] = starts[i]! + this.texts[i]!.length + 1;
    this.block = this.texts.join('\n');
    this.starts = starts;
    this.built = n;
  }

  /**
   * text[ls, le) is a row with no fd number (cwd, rtd, txt, mem, ...) of `pid` (thread `tid`), a
   * process read before: done again, such a row adds its thread only (ColumnsReader.replay). A run's
   * rows list these first, so they wait for the run's first repeat of an fd: kept with it (keep()) if
   * that is kept; forgotten at another run's row (in a capture that does not repeat, always).
   */
  named(text: string, ls: number, le: number, pid: number, tid: number | null): void {
    const key = runKey(pid, tid);
    if (key !== this.pendingKey || text !== this.pendingText) {
      this.pending.length = 0;
      this.pendingKey = key;
      this.pendingText = text;
    }
    if (this.pending.length < 2 * MAX_PENDING) this.pending.push(ls, le);
  }

  /**
   * The rows waiting (named()) if they are `key`'s, in `text`: kept, each unless its run kept it
   * already (looked for among the run's from the one after the last found: no hash of each row,
   * which for a fresh slice of the text cost a microsecond or more here).
   */
  private keepPending(text: string, key: number): void {
    const { pending, texts } = this;
    if (key === this.pendingKey && text === this.pendingText) {
      let kept = this.namedByRun.get(key);
      let from = 0;
      for (let i = 0; i < pending.length; i += 2) {
        const row = text.slice(pending[i]!, pending[i + 1]!);
        let found = -1;
        if (kept !== undefined) {
          for (let j = 0, n = kept.length; j < n; j++) {
            const at = from + j < n ? from + j : from + j - n;
            if (texts[kept[at]!] === row) { found = at; break; }
          }
        }
        if (found >= 0) {
          this.met(kept![found]!);
          from = found + 1;
          continue;
        }
        const at = this.add(row, this.runPid, this.runTid, -1, false);
        if (at < 0) break;
        if (kept === undefined) this.namedByRun.set(key, (kept = []));
        kept.push(at);
        from = kept.length;
      }
    }
    pending.length = 0;
    this.pendingKey = -1;
    this.pendingText = '';
  }

  /**
   * text[ls, le) is a repeat of fd `fd` of `pid` (thread `tid`) that this input listed already: kept
   * if its run of rows was met before. A process's own rows repeat an fd only when the capture
   * repeats; a thread's rows always do (its process's fds), so a thread's run counts as met before
   * when an earlier run of repeats had its (pid, tid) (runs: the first MAX_RUNS runs of threads).
   * A row kept already (this fd of this run, the same text) is the expected one's place.
   */
  keep(text: string, ls: number, le: number, pid: number, tid: number | null, fd: number, socket: boolean): void {
    if (pid !== this.runPid || tid !== this.runTid) {
      this.runPid = pid;
      this.runTid = tid;
      const key = runKey(pid, tid);
      this.runSeen = tid === null || tid === pid || this.runs.has(key);
      if (!this.runSeen && this.runs.size < MAX_RUNS) this.runs.add(key);
    }
    if (!this.runSeen) return;
    const key = runKey(pid, tid);
    if (this.pending.length > 0) this.keepPending(text, key);
    if (key !== this.lookupKey) {
      this.lookupKey = key;
      this.lookupRows = this.byRun.get(key) ?? null;
    }
    const k = this.lookupRows?.[fd];
    const row = text.slice(ls, le);
    if (k !== undefined && this.texts[k] === row) return this.met(k);
    const at = this.add(row, pid, tid, fd, socket);
    if (at >= 0) (this.lookupRows ??= this.newRun(key))[fd] = at;
  }

  private newRun(key: number): number[] {
    const rows: number[] = [];
    this.byRun.set(key, rows);
    return rows;
  }

  /** A row kept (fd -1: none), expected next after it; its index, or -1 past the bounds. */
  private add(row: string, pid: number, tid: number | null, fd: number, socket: boolean): number {
    if (this.texts.length >= MAX_ROWS || this.chars + row.length > MAX_CHARS) return -1;
    // a copy: the row must not keep the piece it was cut from
    const copy = detach(row);
    this.texts.push(copy);
    this.chars += copy.length;
    this.pids.push(pid);
    this.tids.push(tid ?? -1);
    this.fds.push(fd);
    this.sockets.push(socket);
    this.next = this.texts.length;
    return this.texts.length - 1;
  }

  /** Forgets every row (another header: rows read differently from now on). */
  clear(): void {
    this.texts.length = this.pids.length = this.tids.length = this.fds.length = this.sockets.length = 0;
    this.byRun.clear();
    this.namedByRun.clear();
    this.pending.length = 0;
    this.pendingKey = -1;
    this.pendingText = '';
    this.lookupKey = -1;
    this.lookupRows = null;
    this.chars = 0;
    this.next = 0;
    this.runPid = -1;
    this.runTid = null;
    this.runs.clear();
    this.block = '';
    this.starts = new Int32Array(1);
    this.built = 0;
    this.stride = 1;
  }
}
