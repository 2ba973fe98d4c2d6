/**
 * The worker thread of proc-pid-worker.ts: reads its share of /proc/<pid>/net tables, then its share
 * of /proc/<pid>/fd links, chunk by chunk from the shared counters, and posts both. Bundled as
 * dist/cli/proc-pid-reader.cjs (a rolldown entry, like scan-worker.cjs); node: built-ins only (and
 * ../sockstat.ts, ../own-rows.ts, ../../util/proc-file.ts, ../../model/fd-target.ts and
 * ../../parse/proc-net-inet-select.ts, which hold nothing else), so it
 * starts fast. Full paths: worker threads cannot chdir, so the main thread's bare-name trick
 * (proc-pid.ts) is not open here.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { fdKindOfTarget, inodeOfTarget } from '../../model/fd-target.js';
import { INET_TABLES, selectInetRowsUnless } from '../../parse/proc-net-inet-select.js';
import { readProcFile } from '../../util/proc-file.js';
import { ownRows } from '../own-rows.js';
import { NO_ROWS, readTcpTablesWithoutRows } from '../sockstat.js';
import type { Marks, ReaderData, WireSelection, WorkerMessage } from './proc-pid-worker.js';
import { namesOf, SELECTION_DONE, SELECTION_FREE, SELECTION_WORKER } from './proc-pid-worker.js';

const errno = (error: unknown): string | undefined => (error as { code?: string }).code;
/** Now, in ms since the epoch (Marks in proc-pid-worker.ts). */
const now = (): number => performance.timeOrigin + performance.now();

/**
 * Reads the tables this thread claims from `data.claims`, the costly ones first (tcp, tcp6), as soon
 * as it is up (the main thread is still loading its modules then), and posts them; then the link
 * chunks it claims, once the names in fd/ come.
 */
function readTables(data: ReaderData, post: (message: WorkerMessage) => void): Array<[string, string | null]> {
  const { dir, claims, tables } = data;
  const texts: Array<[string, string | null]> = [];
  const marks: Marks = [['up', now()]];
  const empty = readTcpTablesWithoutRows(`${dir}/net`); // as the main thread does (live/diagnose.ts readNetTexts)
  for (let t = Atomics.add(claims, 1, 1); t < tables.length; t = Atomics.add(claims, 1, 1)) {
    try {
      texts.push([tables[t]!, empty.has(tables[t]!) ? NO_ROWS : readProcFile(`${dir}/net/${tables[t]}`)]);
    } catch (error) {
      if (errno(error) === 'ENOENT') texts.push([tables[t]!, null]);
      // Anything else: left out, so the main thread reads it and reports it as it always does.
    }
    marks.push([tables[t]!, now()]);
  }
  post({ kind: 'tables', texts, marks });
  return texts;
}

/** Reads the link chunks this thread claims from `data.claims`, for the names in fd/, and posts them. */
function readLinks(data: ReaderData, names: readonly string[], post: (message: WorkerMessage) => void): string[] | undefined {
  const { dir, claims, chunk } = data;
  const starts: number[] = [];
  const links: string[] = [];
  const marks: Marks = [['names', now()]];
  let denied = false;
  for (;;) {
    const start = Atomics.add(claims, 0, chunk);
    if (start >= names.length) break;
    starts.push(start);
    const end = Math.min(start + chunk, names.length);
    for (let i = start; i < end; i++) {
      try {
        links.push(readlinkSync(`${dir}/fd/${names[i]}`));
      } catch (error) {
        // As on the main thread: a closed fd is skipped, a denied one makes the table incomplete.
        const code = errno(error);
        if (code === 'ENOENT' || code === 'ESRCH') links.push('');
        else if (code === 'EACCES' || code === 'EPERM') { denied = true; links.push(''); }
        else { post({ kind: 'failed' }); return undefined; }
      }
    }
  }
  marks.push(['links', now()]);
  post({ kind: 'links', starts, links: links.join('\0'), denied, marks });
  return links;
}

/**
 * Selects the rows diagnose keeps (own-rows.ts) of the inet tables this thread read, for the socket
 * inodes of every link: those it read (`links`) and the main thread's (`theirs`: shareLinks),
 * and posts them; unless the main thread claimed the job first, or took it over (claims[2]: then it
 * does it itself, and this thread stops at its next look).
 *
 * Why here: once every link is read, the main thread still builds its fd records (and reads the fd
 * details) while this thread would wait, and the selection is the first step of the main thread's
 * serial tail. Measured in-process on a real crowded namespace's table (23,951 TCP rows, 12,477 of
 * them kept by a 15,000-fd process), cold as in a run, 7 fresh processes: 20-36 ms a selection on
 * the main thread (load ~2.5); with this, main-thread CPU from the fd records to the report was a
 * median 0.84x the build before (12 pairs, worker forced, load ~5; test/live/threads/
 * proc-pid-worker.test.ts shows the worker does it and gives the main thread's selection).
 */
function selectRows(
  data: ReaderData,
  texts: ReadonlyArray<[string, string | null]>,
  links: readonly string[],
  theirs: string,
  post: (message: WorkerMessage, transfer?: ArrayBuffer[]) => void,
): void {
  if (Atomics.compareExchange(data.claims, 2, SELECTION_FREE, SELECTION_WORKER) !== SELECTION_FREE) return;
  const marks: Marks = [['links in', now()]];
  const inodes = new Set<string>();
  const add = (target: string): void => { // as the main thread's fd records say it (proc-pid.ts fdRecord)
    if (target === '' || fdKindOfTarget(target) !== 'socket') return;
    const inode = inodeOfTarget(target);
    if (inode !== null) inodes.add(inode);
  };
  for (const target of links) add(target);
  for (const target of theirs.split('\0')) add(target);
  const matched = new Set<string>(); // the process's socket inodes among the kept rows
  const keep = ownRows((inode) => {
    if (!inodes.has(inode)) return false;
    matched.add(inode);
    return true;
  });
  const tables: Array<[string, WireSelection]> = [];
  const transfer: ArrayBuffer[] = [];
  const inet = texts.filter((entry): entry is [string, string] => {
    const [name, text] = entry;
    return text !== null && text !== NO_ROWS && (INET_TABLES as readonly string[]).includes(name);
  });
  const size = inet.reduce((n, [, text]) => n + text.length, 0);
  let before = 0; // characters of the tables done
  // How far it is, for the main thread (claims[3]); whether the main thread took the job over.
  const stop = (offset: number): boolean => {
    Atomics.store(data.claims, 3, Math.floor(((before + offset) * 1000) / size));
    return Atomics.load(data.claims, 2) !== SELECTION_WORKER;
  };
  for (const [name, text] of inet) {
    const s = selectInetRowsUnless(text, keep, stop);
    if (s === undefined) return; // taken over
    before += text.length;
    const wire = { starts: Int32Array.from(s.starts), lines: Int32Array.from(s.lines), unjudged: s.unjudged, total: s.total };
    tables.push([name, wire]);
    transfer.push(wire.starts.buffer as ArrayBuffer, wire.lines.buffer as ArrayBuffer);
  }
  if (Atomics.compareExchange(data.claims, 2, SELECTION_WORKER, SELECTION_DONE) !== SELECTION_WORKER) return; // taken over at the end
  const unmatched: string[] = [];
  for (const inode of inodes) if (!matched.has(inode)) unmatched.push(inode);
  marks.push(['selected', now()]);
  post({ kind: 'selections', tables, unmatched: unmatched.join(','), marks }, transfer);
}

const port = parentPort;
if (port !== null) {
  const data = workerData as ReaderData;
  const post = (m: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  const texts = readTables(data, post);
  port.once('message', (names: string) => {
    const links = readLinks(data, namesOf(names), post);
    if (links !== undefined) port.once('message', (theirs: string) => selectRows(data, texts, links, theirs, post));
  });
}
