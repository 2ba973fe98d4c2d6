/**
 * A large lsof capture read by two threads: the main thread reads the file up to a process's first
 * row near the middle (`boundary`), a worker (tail-worker.ts) reads the rest into a fold of its own,
 * and the main thread takes that fold in (SocketFold.absorb) as if it had read those rows itself:
 * the report is the same byte for byte. Reading is ~88% of analyze on a capture of a million
 * socket rows; two cores read it in about half the time.
 *
 * Only where it can pay and cannot change the answer:
 * - a regular file of MIN_BYTES to MAX_BYTES (the worker costs ~40-60 ms to start and load the
 *   parsers; above MAX_BYTES its memory would pass the bound one thread keeps),
 *   read as lsof's column listing, alone, as it is (no paste shape undone), and a core to spare
 *   (cli/prefetch.ts coreToSpare: on a busy box both halves would share one core);
 * - PIDs that never go down in samples of the first half (lsof lists processes by PID: a file of
 *   captures pasted together names processes again, which two readings cannot join);
 * - joined only if the main thread folded its rows before the boundary (from its first row: the
 *   CLI's default; capture.ts CaptureOptions.foldEarly), read no
 *   process and no socket the worker read (a socket shared across the boundary), had the same
 *   column layout and no other format began. Otherwise, or if the worker fails in any way, the main
 *   thread reads the rest itself (linesFrom the boundary): the worker only ever saves time.
 */
import type { Fd } from '../model/fd.js';
import type { SkippedLine } from '../util/skips.js';
import type { FoldParts } from './fold.js';
import type { Parsed } from './parsers.js';
import type { Line, LineStream } from './text-input.js';
import type { LsofReader } from '../parse/lsof/reader.js';
import { optimizeInPlace } from '../util/optimize-in-place.js';
import { HEAD_LINES } from './head-lines.js';

/**
 * Files below this are read by one thread. Main-thread CPU to read heads of the socket-heavy
 * capture, one thread vs two (in-process, warm, 7 alternating runs, load ~7.7): 5 MiB 120 vs 100 ms,
 * 10 MiB 190 vs 130, 21 MiB 260 vs 160; a cold worker costs ~40-60 ms more of its own core to
 * start, so below ~16 MiB the gain is within what a busy box takes back.
 */
export const MIN_BYTES = 16 << 20;
/**
 * Files above this too: the worker's heap and fold live beside the main thread's until it ends,
 * ~45 MiB more at the peak (the 5M-line socket-heavy capture, 514 MiB: 225-256 MiB peak RSS with two
 * threads, 188-192 with one; the bound there is 250). Below it the sum stays under the 1M-line
 * bound (104 MiB file: 165 MiB peak).
 */
export const MAX_BYTES = 256 << 20;
/** The worker's young generation, MiB (V8's default, 32 here, is memory the worker does not need). */
const YOUNG_MB = 8;

/** How the capture is split: 'auto' (when a core is free), 1 (never), 2 (whenever the file allows, busy or not: tests, benchmarks). */
export interface TailOptions {
  threads?: 'auto' | 1 | 2;
  /** Files below this many bytes are read by one thread (default MIN_BYTES). */
  minBytes?: number;
  /** Tests: split at the first line start from this byte on, in a process or not (default: at a process's first row after MAIN_SHARE of the file). */
  at?: number;
  /** Tests: the worker fails after this many lines. */
  failAfter?: number;
  /** Where the worker's script is (default: dist/cli/analyze-worker.cjs beside the bundle). */
  worker?: URL;
  /** A worker already reading the file's second half (Tail.early, started by cli/prefetch.ts): taken if it reads what start() would have it read, else ended. */
  early?: Tail | null;
}

/** What the worker is given. */
export interface TailJob {
  path: string;
  source: string;
  start: number;
  /** Bytes from `start` to the end of the file. */
  bytes: number;
  head: Line[];
  header: string | null;
  state?: string;
  portRange: [number, number] | null;
  failAfter?: number;
}

/** What the worker read, lines numbered from 1. */
export interface TailRead {
  lines: number;
  overlong: Line[];
  skipped: SkippedLine[];
  overflow: number;
  fold: FoldParts;
  pids: number[];
  carried: Parameters<LsofReader['joins']>[0];
  processes: Parsed['processes'];
  fds: Fd[];
  records: number;
}

/** How the capture was read (tests read it: the worker's share, and why it was not used). */
export interface SplitOutcome {
  boundary: number;
  size: number;
  /** Lines and distinct socket rows the worker read (0 if it failed). */
  workerLines: number;
  workerRows: number;
  /** Whether the worker's reading was taken in; else why not (the main thread read the rest). */
  joined: boolean;
  /** The worker was started before the capture was opened (Tail.early): it began reading before main.js loaded. */
  early?: true;
  why?: string;
}

export class Tail {
  private readonly answer: Promise<TailRead | string>;
  private worker: import('node:worker_threads').Worker | null;
  readonly outcome: SplitOutcome;

  private constructor(readonly path: string, readonly boundary: number, size: number, private readonly job: TailJob, url: URL, early = false) {
    this.outcome = { boundary, size, workerLines: 0, workerRows: 0, joined: false };
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    optimizeInPlace();
    // a young generation of 8 MiB, not 32: the worker's heap is memory beside the main thread's
    const worker = new Worker(url, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
    this.worker = worker;
    // started early, it may never be taken (another format, an error in the options): it does not
    // keep the process alive then; start() refs it when it takes it (its answer is then waited for)
    if (early) worker.unref();
    this.answer = new Promise((resolve) => {
      worker.once('message', (m: { read?: TailRead; failed?: string }) => resolve(m.read ?? `worker failed: ${m.failed}`));
      worker.once('error', (e) => resolve(`worker failed: ${e.message}`));
      worker.once('exit', (code) => resolve(`worker exited (${code}) without an answer`));
    });
  }

  /**
   * Starts the worker on the rest of `stream` if the file is worth it and allows it (see the top);
   * null otherwise. `head`: the first lines as read (header among them).
   */
  static start(stream: LineStream, head: readonly Line[], portRange: [number, number] | null, state: string | undefined, options: TailOptions, coreToSpare: () => boolean): Tail | null {
    const file = stream.file;
    const threads = options.threads ?? 'auto';
    const early = options.early ?? null;
    if (early !== null) {
      if (file !== undefined && threads !== 1 && early.fits(file, headerOf(head), portRange, state, options)) {
        file.reads.endAt(early.boundary);
        early.worker?.ref();
        early.outcome.early = true;
        return early;
      }
      early.stop();
    }
    if (file === undefined || threads === 1 || file.size < (options.minBytes ?? MIN_BYTES) || file.size > MAX_BYTES) return null;
    if (threads === 'auto' && !coreToSpare()) return null;
    if (file.reads.isClosed) return null; // read whole already (a small file)
    const fs = process.getBuiltinModule('node:fs');
    const fd = file.reads.handle.fd;
    let boundary: number | null;
    try {
      boundary = options.at !== undefined ? lineStartFrom(fs, fd, options.at, file.size) : processBoundary(fs, fd, file.size);
    } catch {
      return null; // the file could not be read here: one thread reads it (and says what is wrong)
    }
    // the main thread may have the bytes up to reads.position already (its first lines, read ahead)
    if (boundary === null || boundary < file.reads.position || boundary >= file.size) return null;
    const header = headerOf(head);
    const job: TailJob = {
      path: file.path, source: stream.source, start: boundary, bytes: file.size - boundary, head: [...head], header, portRange,
      ...(state === undefined ? {} : { state }), ...(options.failAfter === undefined ? {} : { failAfter: options.failAfter }),
    };
    let tail: Tail;
    try {
      tail = new Tail(file.path, boundary, file.size, job, options.worker ?? new URL('../cli/analyze-worker.cjs', import.meta.url));
    } catch {
      return null; // no worker: one thread reads it all
    }
    file.reads.endAt(boundary);
    return tail;
  }

  /**
   * For `fdleak analyze FILE` (cli/prefetch.ts, before main.js loads): the worker started on a
   * regular file of MIN_BYTES to MAX_BYTES at once, before the capture is opened and its format
   * known, as start() would start it for a plain lsof capture read with no --state or --port-range
   * (its header found in the file's first HEAD_LINES lines, as the capture's head). start() takes it
   * only if the job it would give is this one (fits), else ends it. null: no worker.
   */
  static early(path: string, threads: 'auto' | 1 | 2, coreToSpare: () => boolean, url: URL): Tail | null {
    if (threads === 1 || path === '-') return null;
    const fs = process.getBuiltinModule('node:fs');
    let fd: number;
    try {
      // stat before open: opening a FIFO would wait for a writer here, and close it under one
      const stat = fs.statSync(path);
      if (!stat.isFile() || stat.size < MIN_BYTES || stat.size > MAX_BYTES) return null;
      if (threads === 'auto' && !coreToSpare()) return null;
      fd = fs.openSync(path, 'r');
    } catch {
      return null; // the capture's own open says what is wrong
    }
    try {
      const stat = fs.fstatSync(fd);
      const size = stat.size;
      if (!stat.isFile() || size < MIN_BYTES || size > MAX_BYTES) return null;
      const boundary = processBoundary(fs, fd, size, EARLY_MAIN_SHARE);
      if (boundary === null) return null;
      const head = Buffer.allocUnsafe(HEAD_BYTES);
      const lines = head.toString('latin1', 0, fs.readSync(fd, head, 0, HEAD_BYTES, 0)).split('\n').slice(0, HEAD_LINES).map((text, i) => ({ no: i + 1, text }));
      const job: TailJob = { path, source: path, start: boundary, bytes: size - boundary, head: [], header: headerOf(lines), portRange: null };
      return new Tail(path, boundary, size, job, url, true);
    } catch {
      return null; // no worker: start() decides as always
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Whether this early worker reads what start() would have one read: the same file and size, the
   * same header, no --state, --port-range or test option, and a boundary the main thread has not read past.
   */
  private fits(file: NonNullable<LineStream['file']>, header: string | null, portRange: [number, number] | null, state: string | undefined, options: TailOptions): boolean {
    return this.worker !== null && file.path === this.path && file.size === this.outcome.size && !file.reads.isClosed
      && this.boundary >= file.reads.position && this.boundary < file.size && header === this.job.header
      && portRange === null && state === undefined && options.at === undefined && options.failAfter === undefined;
  }

  /** The worker's reading, or why there is none. */
  async read(): Promise<TailRead | string> {
    const answer = await this.answer;
    if (typeof answer !== 'string') {
      this.outcome.workerLines = answer.lines;
      this.outcome.workerRows = answer.fold.rows;
    }
    return answer;
  }

  /** The main thread reads the rest itself: why. */
  notJoined(why: string): void {
    this.outcome.why = why;
    this.stop();
  }

  /** Ends the worker (its answer is not waited for any more). */
  stop(): void {
    this.worker?.terminate().catch(() => {});
    this.worker = null;
  }
}

/** The bytes Tail.early reads to find the capture's head (HEAD_LINES lines, as openLines reads it). */
const HEAD_BYTES = 64 << 10;

/** The lsof header among the first lines, if any. */
function headerOf(head: readonly { text: string }[]): string | null {
  return head.find((l) => /^COMMAND\s+PID(\s|$)/.test(l.text))?.text ?? null;
}

/**
 * Bytes read at a time looking for a place to split: under V8's 128 KiB large-object size, so that
 * each window's text is young-generation garbage, not a fresh large page (Tail.early, first call in a
 * fresh process, 9 runs: 17-25 ms with 64 KiB, 20-26 with 256 KiB).
 */
const WINDOW = 64 << 10;
/** Bytes read at a time looking for a line's start or a row's PID. */
const PROBE = 16 << 10;
/** How far past the middle a process may go on before the file is read by one thread. */
const MAX_SEARCH = 16 << 20;
/** PIDs sampled over the first half. */
const SAMPLES = 16;
/**
 * The main thread's share of the file, a little over half: it folds from its first row (the fold
 * is sized once it has seen RESERVE_AT lines), and a worker started here, after main.js loaded,
 * is under way later than the main thread. Waits for the worker's answer at the end (1M-line
 * socket-heavy capture, `--port-range` given so no early worker, 11 alternating runs each, total
 * = main thread done + wait): share 0.47: wait 268 ms, total 1385 ms; 0.53: 92, 1274; 0.58: 93, 1294.
 */
const MAIN_SHARE = 0.53;
/**
 * The main thread's share when the worker starts early (Tail.early), before main.js loads. The
 * worker read ~10-15% slower a byte than the main thread (in part its compiling on its own thread,
 * optimizeInPlace: without it the worker ended ~30 ms sooner and the main thread later), so even
 * starting ~20 ms sooner it ended last at an even split. 1M-line
 * socket-heavy capture, `analyze --json`, on 2026-12-05 (a fresh page 1.3 µs), paired runs
 * (farm-bench, medians): 0.58 against 0.50 wall 0.964x (25 pairs), 0.56 0.976x and 0.60 0.970x
 * (21 each), 0.56 against 0.60 1.00x. Timelines: at 0.50 the main thread waits 60-110 ms for the
 * worker; at 0.60 the worker waits 30-80 ms for the main thread. On the slower VM of 2026-12-04 (a
 * fresh page 10-13 µs), 0.50, 0.53 and 0.56 were within noise (1300, 1370, 1352 ms, 11 runs each).
 * 2026-12-06 (a fresh page ~10 µs), after the main thread's start got faster (it reaches its first
 * row ~50 ms after node is up; the worker, ~100-170 ms into its own start): --cpu-prof timelines at
 * 0.58 had the main thread wait 26-164 ms for the worker; farm-bench against 0.58: 0.63 0.967x
 * (--json) and 0.965x (table), 31 pairs each, 0.67 0.982x.
 */
const EARLY_MAIN_SHARE = 0.63;

type Fs = typeof import('node:fs');

/**
 * The start of the first line at or after byte `at` (null: none), read a probe's length at a time
 * into `buf` (a line is a few hundred bytes: a window of 256 KiB a call, in a buffer of its own,
 * was ~0.6 ms of fresh pages and copying each, 18 calls before the worker could start).
 */
function lineStartFrom(fs: Fs, fd: number, at: number, size: number, buf = Buffer.allocUnsafe(PROBE)): number | null {
  if (at === 0) return 0;
  for (let pos = at - 1; pos < size; pos += buf.length) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) return null;
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl >= 0) return pos + nl + 1;
  }
  return null;
}

/** An lsof row up to its PID (the second field, captured) and the blank after it. */
const ROW_PID = /^[^\s]\S*\s+(\d{1,9})\s/;

/** The PID column of an lsof row, or -1 for a line that is no such row. */
function pidOf(line: string): number {
  const m = ROW_PID.exec(line);
  return m === null ? -1 : Number(m[1]);
}

/**
 * Where the rest starts: the first row of a process (a row whose PID is not the row's before it)
 * after `share` of the file; null if the PIDs of the first half go down somewhere (captures
 * pasted together) or no process starts within MAX_SEARCH of the middle.
 */
function processBoundary(fs: Fs, fd: number, size: number, share = MAIN_SHARE): number | null {
  const mid = Math.floor(size * share);
  const probe = Buffer.allocUnsafe(PROBE); // one for every probe
  let last = -1;
  for (let i = 0; i <= SAMPLES; i++) {
    const at = lineStartFrom(fs, fd, Math.floor((mid * i) / SAMPLES), size, probe);
    if (at === null) return null;
    const pid = firstPid(fs, fd, at, size, probe);
    if (pid < 0) continue;
    if (pid < last) return null;
    last = pid;
  }
  const start = lineStartFrom(fs, fd, mid, size, probe);
  if (start === null) return null;
  const buf = Buffer.allocUnsafe(WINDOW);
  let prev = -1;
  // the last row's text up to its PID and the blank after it: a row that starts so is the same
  // process's (no regex, no slice: a process may have ~15,000 rows left past the middle)
  let head = '';
  let pos = start;
  while (pos < size && pos < start + MAX_SEARCH) {
    const n = fs.readSync(fd, buf, 0, WINDOW, pos);
    const text = buf.toString('latin1', 0, n);
    let ls = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; ls = nl + 1, nl = text.indexOf('\n', ls)) {
      if (head !== '' && nl - ls > head.length && text.startsWith(head, ls)) continue; // pid === prev
      const row = ROW_PID.exec(text.slice(ls, nl));
      const pid = row === null ? -1 : Number(row[1]);
      if (pid >= 0 && prev >= 0 && pid !== prev) return pos + ls;
      prev = pid;
      head = row === null ? '' : row[0];
    }
    if (ls === 0) return null; // a line longer than the window
    pos += ls;
  }
  return null;
}

/** The PID of the first lsof row in the probe's length from `at` (read into `buf`), or -1. */
function firstPid(fs: Fs, fd: number, at: number, size: number, buf: Buffer): number {
  const n = fs.readSync(fd, buf, 0, buf.length, at);
  const lines = buf.toString('latin1', 0, Math.min(n, size - at)).split('\n');
  lines.pop(); // cut off
  for (const line of lines) {
    const pid = pidOf(line);
    if (pid >= 0) return pid;
  }
  return -1;
}
