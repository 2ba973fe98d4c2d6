/**
 * The socket tables step of `fdleak scan` (live/scan.ts): each namespace's tables read once,
 * through a member, on this thread or on the helper thread, which is handed them as the walk
 * begins (threads/scan-helper.ts shareTables); and the rule that keeps orphans exact when a read overlapped
 * the walk (readNamespaces).
 */
import type { EarlyTables, ScanFs, TablesRead, Walk } from './fd-walk.js';
import { readNamespace } from './net-tables.js';

/**
 * The tables of each namespace (`jobs`: its members still alive after the walk, in order of
 * `ids`), how many the helper thread read, and how many were read again. Alone, each is read here.
 * With the helper's share handed out early (shareTables, or before the scan: scan-helper.ts
 * shareEarly), both threads claim namespaces from one counter (this one once its walk is over):
 * the kernel formats every row of a table read (~2-3 µs a row), so a second core takes that off
 * the critical path. A namespace the early job does not name (its processes started since) is read
 * here. A read that began before a process was walked (Walk.late) cannot tell an orphan from a
 * socket opened after it; so if a late process of that namespace holds a socket inode missing from
 * the read, the namespace is read again here, after the walk, as a scan without the helper does.
 * On the bench load only the big process holds such inodes, and it is walked first.
 * `lateHeld`: the namespaces whose read is the helper's and holds every socket inode of their late
 * processes (looked up one by one to decide on the read again): those hold no orphan candidate, and
 * the orphan check need not look their inodes up a second time.
 */
export function readNamespaces(fs: ScanFs, procRoot: string, ids: readonly string[], jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>, kept: readonly Walk[], early: EarlyTables | undefined):
  { reads: TablesRead[]; helped: number; reread: number; lateHeld: Set<string> } {
  const readHere = (i: number): TablesRead => {
    const t0 = performance.now();
    return { read: readNamespace(fs, procRoot, jobs[i]!), ms: ms(performance.now() - t0) };
  };
  const lateHeld = new Set<string>();
  if (early === undefined) return { reads: jobs.map((_, i) => readHere(i)), helped: 0, reread: 0, lateHeld };
  const { shared, netns } = early;
  const at = new Map(ids.map((id, i) => [id, i]));
  const reads = new Array<TablesRead | undefined>(jobs.length).fill(undefined);
  const mine = new Set<number>();
  for (let k = shared.claim(); k < netns.length; k = shared.claim()) {
    mine.add(k);
    const i = at.get(netns[k]!);
    if (i !== undefined) reads[i] = readHere(i);
  }
  let reread = 0;
  netns.forEach((id, k) => {
    const i = at.get(id);
    if (mine.has(k) || i === undefined) return;
    const theirs = shared.take(k);
    if (theirs === undefined) reads[i] = readHere(i);
    else if (theirs.read !== undefined && heldSince(kept, id, theirs.read.tally.inodes)) {
      reads[i] = readHere(i);
      reread++;
    } else {
      reads[i] = theirs;
      if (theirs.read !== undefined) lateHeld.add(id);
    }
  });
  return { reads: reads.map((read, i) => read ?? readHere(i)), helped: shared.helped(), reread, lateHeld };
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
