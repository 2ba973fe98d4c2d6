/**
 * The worker of capture/tail.ts: reads the rest of a large lsof capture (from a process's first row
 * to the end of the file) as the main thread would have read it, into a fold of its own
 * (fold.ts), and posts that back with what else the rows gave (processes, fd records, skipped
 * lines), numbered from its first line. The main thread takes it in (SocketFold.absorb) or, if
 * anything here went wrong or the two readings do not join, reads the rest itself.
 * A bundle entry of its own: dist/cli/analyze-worker.cjs (rolldown.config.mjs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Fd } from '../model/fd.js';
import type { TcpState } from '../model/socket.js';
import { LineSink } from '../util/skips.js';
import { headerFormat } from './detect-format.js';
import { SocketFold } from './fold.js';
import { CAPTURE_PARSERS } from './parsers.js';
import type { Parsed } from './parsers.js';
import type { Line } from './text-input.js';
import { linesFrom } from './text-input.js';
import type { TailJob, TailRead } from './tail.js';
import { warmUp } from './warm-up.js';

/** Characters read before the fold's inode table is sized for the rest (SocketFold.expect). */
const RESERVE_AT = 1 << 20;

async function readTail(job: TailJob): Promise<{ read: TailRead; transfer: ArrayBuffer[] }> {
  const overlong: Line[] = [];
  const opening = linesFrom(job.path, job.source, job.start, 1, overlong);
  warmUp(); // while the file opens: feedback for every path before V8 optimizes the reader (warm-up.ts)
  const chunks = await opening;
  const sink = new LineSink(false);
  const reader = CAPTURE_PARSERS.lsof.open(job.head, job.source, sink, { listed: new Map(), inputs: 0, ...(job.state === undefined ? {} : { state: job.state as TcpState }) });
  const lsof = reader.lsof!;
  if (job.header !== null) reader.read({ first: 0, count: 1, text: job.header }); // its column layout
  const { layout } = lsof.carried()!;
  const fold = new SocketFold(job.portRange);
  reader.foldInto!(fold);
  const processes: Parsed['processes'] = [];
  const fds: Fd[] = [];
  let records = 0;
  const take = (parsed: Parsed): void => {
    for (const p of parsed.processes) processes.push(p);
    for (const fd of parsed.fds) {
      if (fd.kind !== 'socket') fds.push(fd);
      else fold.socketFd(fd); // as the main thread's CaptureBuilder does, folding
    }
    if (parsed.sockets.length > 0) throw new Error('socket records while folding');
    records += parsed.records;
  };
  const stop = (line: string): boolean => { const f = headerFormat(line); return f !== undefined && f !== 'lsof'; };
  let seen = 0; // characters read so far
  for await (const batch of chunks) {
    for (const chunk of batch) {
      const parsed = reader.readUntil!(chunk, stop);
      take(parsed);
      // room for the sockets to come, once the rows read tell how dense they are (as the main thread at FOLD_AFTER)
      if (seen < RESERVE_AT && (seen += chunk.text.length + 1) >= RESERVE_AT) fold.expect(fold.rows, seen, job.bytes);
      if (parsed.stoppedAt >= 0) throw new Error('another format follows');
      if (job.failAfter !== undefined && chunks.lines() >= job.failAfter) throw new Error('failing on purpose (a test)');
    }
  }
  take(reader.end());
  const parts = fold.parts();
  const transfer: ArrayBuffer[] = [
    ...parts.inodes.keys, ...parts.inodes.values, parts.portRows, parts.portBad, parts.portFirst,
    ...parts.portPeers.map(([, peers]) => peers), ...parts.closeWait.blocks, ...parts.socketFds.blocks,
  ].map((a) => a.buffer as ArrayBuffer);
  const read: TailRead = {
    lines: chunks.lines(), overlong, skipped: sink.skipped, overflow: sink.overflow,
    fold: parts, pids: [...lsof.pids.keys()], carried: { layout, firstTid: lsof.carried()!.firstTid },
    processes, fds, records,
  };
  return { read, transfer };
}

readTail(workerData as TailJob).then(
  ({ read, transfer }) => parentPort!.postMessage({ read }, transfer),
  (error: unknown) => parentPort!.postMessage({ failed: error instanceof Error ? error.message : String(error) }),
);
