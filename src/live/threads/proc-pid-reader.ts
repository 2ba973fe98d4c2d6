/**
 * The worker thread of proc-pid-worker.ts: reads its share of /proc/<pid>/net tables, then its share
 * of /proc/<pid>/fd links, chunk by chunk from the shared counters, and posts both. Bundled as
 * dist/cli/proc-pid-reader.cjs (a rolldown entry, like scan-worker.cjs); node: built-ins only (and
 * ../sockstat.ts and ../../util/proc-file.ts, which hold nothing else), so it
 * starts fast. Full paths: worker threads cannot chdir, so the main thread's bare-name trick
 * (proc-pid.ts) is not open here.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { readProcFile } from '../../util/proc-file.js';
import { NO_ROWS, readTcpTablesWithoutRows } from '../sockstat.js';
import type { Marks, ReaderData, WorkerMessage } from './proc-pid-worker.js';
import { namesOf } from './proc-pid-worker.js';

const errno = (error: unknown): string | undefined => (error as { code?: string }).code;
/** Now, in ms since the epoch (Marks in proc-pid-worker.ts). */
const now = (): number => performance.timeOrigin + performance.now();

/**
 * Reads the tables this thread claims from `data.claims`, the costly ones first (tcp, tcp6), as soon
 * as it is up (the main thread is still loading its modules then), and posts them; then the link
 * chunks it claims, once the names in fd/ come.
 */
function readTables(data: ReaderData, post: (message: WorkerMessage) => void): void {
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
}

/** Reads the link chunks this thread claims from `data.claims`, for the names in fd/, and posts them. */
function readLinks(data: ReaderData, names: readonly string[], post: (message: WorkerMessage) => void): void {
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
        else { post({ kind: 'failed' }); return; }
      }
    }
  }
  marks.push(['links', now()]);
  post({ kind: 'links', starts, links: links.join('\0'), denied, marks });
}

const port = parentPort;
if (port !== null) {
  const post = (m: WorkerMessage): void => port.postMessage(m);
  readTables(workerData as ReaderData, post);
  port.once('message', (names: string) => readLinks(workerData as ReaderData, namesOf(names), post));
}
