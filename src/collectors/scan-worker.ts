/**
 * The worker of scan-helper.ts: takes units from the shared counter, walks each process's fd table
 * exactly as the main thread does (live-scan.ts walkFds; full paths, because a worker may not
 * chdir), and writes what it found into the unit's slots. Bundled as dist/cli/scan-worker.js.
 */
import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { ScannedProcess, Walk } from './live-scan.js';
import { NODE_FS, walkFds } from './live-scan.js';
import type { SharedBuffers } from './scan-helper.js';
import { DONE, EOF, ERROR, FAILED, GONE, LISTENING, NUMS, PIPE, QUIT, REQUEST, SERVING, SLOT, SLOTS } from './scan-helper.js';

/** How long the helper waits for the next table, or for the main thread to take a slot, before it leaves. */
const IDLE_MS = 2000;

const link = (dir: string, name: string): string => readlinkSync(`${dir}/${name}`);

/** Walks units until none is left to claim. */
export function helpWalk(b: SharedBuffers): void {
  for (let i = Atomics.add(b.ctl, 0, 1); i < b.pids.length; i = Atomics.add(b.ctl, 0, 1)) {
    let state = FAILED;
    try {
      state = walkUnit(b, i) ? DONE : FAILED;
    } catch {
      // anything unexpected: the main thread walks this unit again and reports it as it always does
    }
    Atomics.store(b.state, i, state);
    Atomics.notify(b.state, i);
  }
  serveTables(b);
}

/** After the walk: reads each table the main thread asks for into the ring, until told to leave. */
function serveTables(b: SharedBuffers): void {
  const p = b.pipe;
  Atomics.store(p, PIPE.STATE, LISTENING);
  Atomics.notify(p, PIPE.STATE);
  for (;;) {
    Atomics.wait(p, PIPE.STATE, LISTENING, IDLE_MS);
    // Nobody asked in time (or we were told to go): leave, and say so, so no request is left unserved.
    const seen = Atomics.compareExchange(p, PIPE.STATE, LISTENING, GONE);
    if (seen !== REQUEST) return;
    Atomics.store(p, PIPE.STATE, SERVING);
    readInto(b, Buffer.from(b.pipeText.subarray(0, p[PIPE.PATH_LEN]!)).toString());
    if (Atomics.compareExchange(p, PIPE.STATE, SERVING, LISTENING) === QUIT) return;
    Atomics.notify(p, PIPE.STATE);
  }
}

/** One table into the ring, a read() per slot; its end (or the errno that stopped it) in the last. */
function readInto(b: SharedBuffers, path: string): void {
  const p = b.pipe;
  let produced = 0;
  const publish = (length: number): void => {
    p[PIPE.LENGTHS + (produced % SLOTS)] = length;
    Atomics.store(p, PIPE.PRODUCED, ++produced);
    Atomics.notify(p, PIPE.PRODUCED);
  };
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    for (;;) {
      if (!roomFor(b, produced)) return;
      const slot = produced % SLOTS;
      const n = readSync(fd, b.pipeData, slot * SLOT, SLOT, null);
      publish(n === 0 ? EOF : n);
      if (n === 0) return;
    }
  } catch (error) {
    const code = Buffer.from(String((error as { code?: unknown }).code ?? 'EIO'));
    if (!roomFor(b, produced)) return;
    b.pipeText.set(code.subarray(0, b.pipeText.length));
    p[PIPE.PATH_LEN] = Math.min(code.length, b.pipeText.length);
    publish(ERROR);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Waits until the slot `produced` will go into is free (the main thread took it); false if it never is. */
function roomFor(b: SharedBuffers, produced: number): boolean {
  const p = b.pipe;
  while (produced - Atomics.load(p, PIPE.CONSUMED) >= SLOTS) {
    if (Atomics.wait(p, PIPE.CONSUMED, produced - SLOTS, IDLE_MS) === 'timed-out') return false;
  }
  return true;
}

/** Walks unit i into its slots; false if its sockets do not fit them. */
function walkUnit(b: SharedBuffers, i: number): boolean {
  const proc: ScannedProcess = {
    pid: b.pids[i]!, command: '', state: '', startTime: null, fds: 0, sockets: null, orphanSockets: null,
    fdLimit: null, limitUsed: null, netns: null, unseen: null,
  };
  const walk: Walk = { process: proc, inodes: [], fdNames: [], links: 0 };
  const outcome = walkFds(NODE_FS, b.procRoot, walk, true, link);
  const from = b.offsets[i]!;
  if (walk.inodes.length > b.offsets[i + 1]! - from) return false;
  b.inodes.set(walk.inodes, from);
  b.fdNames.set(walk.fdNames, from);
  const at = i * NUMS;
  b.nums[at] = outcome === 'vanished' ? 1 : 0;
  b.nums[at + 1] = proc.fds ?? -1;
  b.nums[at + 2] = proc.sockets ?? -1;
  b.nums[at + 3] = proc.unseen === 'permission' ? 1 : 0;
  b.nums[at + 4] = walk.links;
  b.nums[at + 5] = walk.inodes.length;
  return true;
}

parentPort?.once('message', helpWalk);
parentPort?.postMessage('up');
