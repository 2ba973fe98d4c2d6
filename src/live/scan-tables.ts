/**
 * The socket tables step of `fdleak scan` (live/scan.ts): each namespace's tables read once,
 * through a member, on this thread or on the helper thread (threads/scan-helper.ts), which is
 * handed them as the walk begins; and the rule that keeps orphans exact when a read overlapped
 * the walk (readNamespaces).
 */
import { resolve } from 'node:path';
import type { Offer, ScanFs, SharedTables, TablesRead, Walk, WalkHelper } from './fd-walk.js';
import { readNamespace } from './net-tables.js';

/** The tables as handed to the helper before the walk: job k is namespace order[k] (the most fds first). */
interface EarlyTables {
  shared: SharedTables;
  order: number[];
}

/**
 * Hands the helper the tables of every namespace (`jobs`: the members to read them through) as
 * the walk begins, the most fds first, so that it reads them while this thread walks: measured on
 * the bench load (56,800 fds, one namespace of 38,600 TCP rows; 2 cores), the read took 140-180 ms
 * of the main thread after a walk already shared by both threads, during which the helper had
 * nothing to do. Undefined if the helper is gone (everything is read here, after the walk).
 */
export function shareTables(helper: WalkHelper, procRoot: string, jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>, sizes: readonly number[]): EarlyTables | undefined {
  const order = jobs.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const shared = helper.shareTables?.(resolve(procRoot), order.map((i) => jobs[i]!));
  return shared === undefined ? undefined : { shared, order };
}

/** Fds (st_size, as offered to the walk) of each namespace's members (`netnsOf`): which namespace to read first. */
export function fdsByNetns(ids: readonly string[], netnsOf: ReadonlyMap<number, string | null>, offer: Offer): number[] {
  const byNetns = new Map<string, number>();
  offer.pids.forEach((pid, i) => {
    const netns = netnsOf.get(pid);
    if (netns !== undefined && netns !== null) byNetns.set(netns, (byNetns.get(netns) ?? 0) + offer.counts[i]!);
  });
  return ids.map((id) => byNetns.get(id) ?? 0);
}

/**
 * The tables of each namespace (`jobs`: its members still alive after the walk, in order of
 * `ids`), how many the helper thread read, and how many were read again. Alone, each is read here.
 * With the helper's share handed out early (shareTables), both threads claim namespaces from one
 * counter (this one once its walk is over): the kernel formats every row of a table read (~2-3 µs
 * a row), so a second core takes that off the critical path. A read that began before a process
 * was walked (Walk.late) cannot tell an orphan from a socket opened after it; so if a late
 * process of that namespace holds a socket inode missing from the read, the namespace is read
 * again here, after the walk, as a scan without the helper does. On the bench load only the big
 * process holds such inodes, and it is walked first.
 */
export function readNamespaces(fs: ScanFs, procRoot: string, ids: readonly string[], jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>, kept: readonly Walk[], early: EarlyTables | undefined):
  { reads: TablesRead[]; helped: number; reread: number } {
  const readHere = (i: number): TablesRead => {
    const t0 = performance.now();
    return { read: readNamespace(fs, procRoot, jobs[i]!), ms: ms(performance.now() - t0) };
  };
  if (early === undefined) return { reads: jobs.map((_, i) => readHere(i)), helped: 0, reread: 0 };
  const { shared, order } = early;
  const reads = new Array<TablesRead>(jobs.length);
  const mine = new Set<number>();
  for (let k = shared.claim(); k < order.length; k = shared.claim()) {
    mine.add(k);
    reads[order[k]!] = readHere(order[k]!);
  }
  let reread = 0;
  order.forEach((i, k) => {
    if (mine.has(k)) return;
    const theirs = shared.take(k);
    if (theirs === undefined) reads[i] = readHere(i);
    else if (theirs.read !== undefined && heldSince(kept, ids[i]!, theirs.read.tally.inodes)) {
      reads[i] = readHere(i);
      reread++;
    } else reads[i] = theirs;
  });
  return { reads, helped: shared.helped(), reread };
}

/** Whether a process of namespace `id` walked after the read began (late) holds a socket inode the read lacks. */
function heldSince(kept: readonly Walk[], id: string, inodes: ReadonlySet<number>): boolean {
  for (const w of kept) {
    if (w.late !== true || w.process.netns !== id) continue;
    for (const inode of w.inodes) if (!inodes.has(inode)) return true;
  }
  return false;
}

/** Milliseconds to one decimal, as the timings report them. */
export function ms(value: number): number {
  return Math.round(value * 10) / 10;
}
