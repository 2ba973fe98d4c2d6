/**
 * /proc/<pid>/net/* and /proc/<pid>/fd read beside the main thread, started by bin/fdleak.js
 * (src/cli/prefetch.ts) before fdleak's modules load, so that the costs that grow with the process
 * or its namespace (the kernel writing the TCP table: ~50 ms for 25,000 rows; a readlink per fd,
 * ~4 µs of kernel time each: 60 ms at 15,000 fds) run on a second core while the main thread
 * compiles modules, reads stat and limits, and builds the fd records.
 *
 * The worker reads the socket tables first, one table per claim from a shared counter (a
 * SharedArrayBuffer), tcp and tcp6 first: it is up ~30 ms after the start, while the main thread
 * still loads its modules for 50-70 ms, so the costliest read of a crowded namespace is done
 * before the main thread asks (measured on a 15,000-fd process in a 25,000-row namespace: the main
 * thread read tcp itself, 50-65 ms on its critical path, while the worker, done with its links,
 * waited). The main thread claims the tables left before it reads any link: tables are read before
 * the fds, with or without the worker (live/diagnose.ts). fd/ is listed on libuv's thread pool
 * while the worker starts; the worker then reads links chunk by chunk; when the main thread needs
 * the table it claims chunks from the same counter, so the two finish together
 * (readProcPidFdShared in proc-pid.ts). Nothing waits
 * on a thread that is not running: if the listing is not back when the main thread needs it, the
 * main thread lists fd/ itself (and hands the list to the worker); on a busy machine the worker may
 * get little done, and the main thread claims the rest. Anything that does not go as on the main
 * thread (an unexpected errno) is left undone: the main thread then does it itself, exactly as
 * without a worker.
 *
 * The worker itself is proc-pid-reader.ts, a bundle entry of its own (dist/cli/proc-pid-reader.cjs).
 * Only node: built-ins here: this module is bundled into the CLI entry and must stay cheap to load.
 */
import type { Worker } from 'node:worker_threads';
import type { RowSelection } from '../../parse/proc-net-inet-select.js';

/**
 * How long the main thread waits for the thread pool's listing of fd/ before listing it itself.
 * Started from the start-up snapshot (cli/snapshot.ts), the main thread asks for the names ~10 ms
 * after the listing began, before the thread pool is done (~15 ms for 15,000 fds): listing again
 * there cost it 15 ms of CPU (cpu profiles of a 15,000-fd diagnose, 4 runs) where waiting costs
 * the few ms left.
 */
const NAMES_WAIT_MS = 100;

/** Links per claim: small enough that a thread waiting for the other's last chunk waits little. */
export const FD_CHUNK = 64;

/**
 * The socket tables live-process.ts reads from /proc/<pid>/net (INET_TABLES, unix, netlink, packet),
 * the costly ones first (tcp and tcp6: the kernel walks its whole TCP hash for each). A table
 * missing here is simply read by the main thread. A TCP table the namespace's counters say holds no
 * row is not read, by either thread (live/sockstat.ts: the empty tcp6 of an IPv4-only namespace).
 */
export const NET_TABLE_FILES = [
  'tcp', 'tcp6', 'unix', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'icmp', 'icmp6', 'netlink', 'packet',
] as const;

/** The worker's share of the links: the first index of each chunk it read, in order, and their
 * targets joined by "\0" ("" where the fd closed in between or was denied; `denied` says if any was). */
export interface FdWorkerLinks {
  starts: number[];
  links: string;
  denied: boolean;
}

/** Text of each table read, by file name; null where the kernel has no such table. */
export type NetTexts = Map<string, string | null>;

/** What the worker is started with (workerData). */
export interface ReaderData {
  /** /proc/<pid>, absolute. */
  dir: string;
  claims: Int32Array;
  chunk: number;
  tables: readonly string[];
}

/**
 * When the worker did what (--debug's timeline): a step's name and the moment, in ms since the epoch
 * (performance.timeOrigin + performance.now(): the two threads' performance.now() count from
 * different origins).
 */
export type Marks = Array<[string, number]>;

/**
 * The names in fd/ as the worker is sent them: one string, joined by "/" (no fd name holds one).
 * Why not the array: postMessage clones an array string by string on the sending thread, here the
 * main thread while it loads its modules. Measured in CPU profiles of a 15,000-fd diagnose (6 runs,
 * load ~7): the callback that posts the names took 12.6 ms of the main thread a run, 9.1 of it
 * the clone; one string is a copy of its bytes.
 */
export function namesMessage(names: readonly string[]): string {
  return names.join('/');
}

/** The names namesMessage joined. */
export function namesOf(message: string): string[] {
  return message === '' ? [] : message.split('/');
}

/**
 * A RowSelection as the worker posts it: offsets and line numbers in typed arrays (transferred, not
 * copied); not the kept inodes (WorkerSelections.unmatched says what they are for).
 */
export interface WireSelection {
  starts: Int32Array;
  lines: Int32Array;
  unjudged: number;
  total: number;
}

/**
 * The worker's selections of the rows of the tables it read, by table name, their `kept` left
 * empty; instead, `unmatched`: the socket inodes of the process (of every link) in no row of those
 * tables. What the main thread wants of the kept inodes is which of its socket fds are in no table
 * (the orphans), and these are few where the kept rows are many: measured on a 15,000-fd process
 * with 12,500 rows of its own, splitting the kept inodes out of the message and making a set of
 * them took ~8-15 ms of the main thread (cpu-prof, load ~5).
 */
export interface WorkerSelections {
  tables: Map<string, RowSelection>;
  unmatched: ReadonlySet<string>;
}

/** The RowSelection a WireSelection carries (kept: see WorkerSelections). */
export function selectionOf(wire: WireSelection): RowSelection {
  return { starts: wire.starts, lines: wire.lines, kept: [], unjudged: wire.unjudged, total: wire.total };
}

/**
 * What the worker posts, in this order. It is sent the names for the links (namesMessage), then,
 * once the main thread has read its share of links, those links (shareLinks): it then selects the
 * rows of the inet tables it read that diagnose keeps (live/own-rows.ts), unless the main thread
 * claimed that job first (claims[2]), and posts them (WorkerSelections).
 */
export type WorkerMessage =
  | { kind: 'tables'; texts: Array<[string, string | null]>; marks: Marks }
  | ({ kind: 'links'; marks: Marks } & FdWorkerLinks)
  | { kind: 'selections'; tables: Array<[string, WireSelection]>; unmatched: string; marks: Marks }
  | { kind: 'failed' };

/**
 * claims[2]: who selects the rows of the tables the worker read: nobody yet, the worker (at work:
 * claims[3] says how far, in thousandths of the text), the main thread, or the worker, done (its
 * selections are posted). The main thread takes the job over from a worker not yet half done: on a
 * busy machine the worker may get little of a core (measured on a 15,000-fd process in a
 * 25,000-row namespace, load ~5: its selection took 60-100 ms instead of ~25, the main thread
 * waiting for it), and the worker gives up at its next look at claims[2].
 */
export const SELECTION_FREE = 0;
export const SELECTION_WORKER = 1;
export const SELECTION_MAIN = 2;
export const SELECTION_DONE = 3;
/** Thousandths of its tables' text the worker must have judged for the main thread to wait for it rather than take over. */
export const SELECTION_WAIT_FROM = 500;

/** A read of one process under way beside the main thread. Each answer is null if the worker could not give it. */
export interface ProcPidPrefetch {
  procRoot: string;
  pid: number;
  /**
   * [next unclaimed fd index, next unclaimed NET_TABLE_FILES index], claimed with Atomics.add, and
   * who selects the rows of the worker's tables (SELECTION_*), claimed with Atomics.compareExchange,
   * and how far the worker is with them (thousandths).
   */
  claims: Int32Array;
  /** The names in fd/: the thread pool's listing if it is back, else listed now; null if listing failed. */
  names(): Promise<string[] | null>;
  /** The worker's share of the links, once no chunk is left to claim. */
  links(): Promise<FdWorkerLinks | null>;
  /** The tables the worker claimed, read before any link. */
  netTexts(): Promise<NetTexts | null>;
  /**
   * Hands the worker the links this thread read (`targets`: undefined where this thread read none),
   * so that, knowing every link, it selects the rows diagnose keeps of the tables it read.
   */
  shareLinks(targets: ReadonlyArray<string | undefined>): void;
  /**
   * The worker's selections (by table name: those it read), or null where this thread is to select
   * itself: it claims the job when the worker has not begun it (then nothing is waited for), and
   * gets null if the worker failed.
   */
  selections(): Promise<WorkerSelections | null>;
  /** What the worker has delivered so far: fd chunks, socket tables it read, tables it selected rows of (its proof of work). */
  readonly delivered: { chunks: number; tables: number; selections: number };
  /**
   * When it did what, as its messages came (Marks: "up", each table, "names", "links"), and when the
   * main thread was done with its chunks of links and had the worker's ("main: ..."): for --debug.
   */
  readonly marks: Marks;
}

/**
 * Starts reading /proc/<pid> (under `procRoot`) with the worker at `reader` (dist/cli/proc-pid-reader.cjs,
 * given by the bundle entry that knows where it sits): fd/ is listed at once on libuv's thread pool (the
 * worker takes ~30 ms to start; the listing ~15 ms at 15,000 fds), the links and tables on a worker
 * thread, which gets the names when it is up. Undefined where a worker cannot be started. The worker
 * is unref'd except while an answer is awaited: it never keeps the process alive by itself (a
 * prefetch nobody uses dies with the process).
 */
export function prefetchProcPid(procRoot: string, pid: number, reader: URL): ProcPidPrefetch | undefined {
  const claims = new Int32Array(new SharedArrayBuffer(16));
  const fs = process.getBuiltinModule('node:fs');
  // Absolute: the main thread chdirs into fd/ while it reads its share (proc-pid.ts), and the
  // current directory is the process's, not the thread's.
  const dir = process.getBuiltinModule('node:path').resolve(procRoot, String(pid));
  let worker: Worker;
  try {
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    const workerData: ReaderData = { dir, claims, chunk: FD_CHUNK, tables: NET_TABLE_FILES };
    worker = new Worker(reader, {
      workerData,
      stdout: false,
      stderr: false,
    });
  } catch {
    return undefined;
  }
  worker.unref();
  let listed: string[] | null | undefined; // undefined: not yet
  const delivered = { chunks: 0, tables: 0, selections: 0 };
  const marks: Marks = [];
  let settleLinks!: (links: FdWorkerLinks | null) => void;
  let settleTables!: (texts: NetTexts | null) => void;
  let settleSelections!: (selections: WorkerSelections | null) => void;
  const links = new Promise<FdWorkerLinks | null>((resolve) => (settleLinks = resolve));
  const tables = new Promise<NetTexts | null>((resolve) => (settleTables = resolve));
  const selected = new Promise<WorkerSelections | null>((resolve) => (settleSelections = resolve));
  const giveUp = (): void => {
    listed ??= null;
    settleLinks(null);
    settleTables(null);
    settleSelections(null);
    void worker.terminate();
  };
  // Both ways of listing end here, whichever comes first: the worker must get the main thread's list.
  let listingDone!: () => void;
  const listing = new Promise<void>((resolve) => (listingDone = resolve));
  const list = (names: string[] | null): void => {
    if (listed !== undefined) return;
    listingDone();
    if (names === null) giveUp(); // the main thread lists it again and reports the error as it always does
    else { listed = names; worker.postMessage(namesMessage(names)); }
  };
  fs.readdir(`${dir}/fd`, (error, names) => list(error === null ? names : null));
  worker.on('message', (message: WorkerMessage) => {
    if (message.kind === 'links') {
      delivered.chunks = message.starts.length;
      marks.push(...message.marks);
      settleLinks(message);
    } else if (message.kind === 'tables') {
      delivered.tables = message.texts.length;
      marks.push(...message.marks);
      settleTables(new Map(message.texts));
    } else if (message.kind === 'selections') {
      delivered.selections = message.tables.length;
      marks.push(...message.marks);
      settleSelections({
        tables: new Map(message.tables.map(([name, wire]) => [name, selectionOf(wire)])),
        unmatched: new Set(message.unmatched === '' ? [] : message.unmatched.split(',')),
      });
    }
    else giveUp();
  });
  worker.on('error', giveUp);
  worker.on('exit', giveUp);
  // Ref'd only while an answer is awaited (the worker never keeps the process alive by itself).
  let awaiting = 0;
  const awaited = async <T>(promise: Promise<T>): Promise<T> => {
    if (awaiting++ === 0) worker.ref();
    try {
      return await promise;
    } finally {
      if (--awaiting === 0) worker.unref();
    }
  };
  return {
    procRoot,
    pid,
    claims,
    async names() {
      // The thread pool's listing, waited for up to NAMES_WAIT_MS; only if it is not back by then is
      // fd/ listed again here (a thread pool held up by other work).
      if (listed === undefined) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([listing, new Promise((resolve) => (timer = setTimeout(resolve, NAMES_WAIT_MS)))]);
        clearTimeout(timer);
      }
      if (listed === undefined) {
        try {
          list(fs.readdirSync(`${dir}/fd`));
        } catch {
          list(null);
        }
      }
      return listed ?? null;
    },
    links: () => awaited(links),
    netTexts: () => awaited(tables),
    shareLinks(targets) {
      // One string, as the names (namesMessage): join() is native and makes "" of the holes; the
      // worker picks out the socket links. Measured on a 15,000-fd diagnose: picking out the
      // socket inodes here first delayed the worker's start on the selection by 14-16 ms.
      worker.postMessage(targets.join('\0'));
    },
    async selections() {
      // Whoever claims first selects: if the worker has not begun, this thread does it now rather
      // than wait; if it is not half done, this thread takes it over (SELECTION_WAIT_FROM).
      if (Atomics.compareExchange(claims, 2, SELECTION_FREE, SELECTION_MAIN) === SELECTION_FREE) return null;
      if (Atomics.load(claims, 2) === SELECTION_WORKER && Atomics.load(claims, 3) < SELECTION_WAIT_FROM
        && Atomics.compareExchange(claims, 2, SELECTION_WORKER, SELECTION_MAIN) === SELECTION_WORKER) return null;
      if (Atomics.load(claims, 2) === SELECTION_MAIN) return null; // claimed here
      return awaited(selected);
    },
    delivered,
    marks,
  };
}
