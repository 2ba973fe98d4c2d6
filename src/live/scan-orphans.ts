/**
 * The orphan check of `fdleak scan` (live/scan.ts): which socket fds of a walked process have no row
 * in its namespace's tables and still hold that socket after the tables were read; and the same
 * check made during the walk for the processes walked first (judgeFirstEarly).
 */
import { isDenied } from '../errors.js';
import { socketInodeOf } from '../model/fd-target.js';
import { isOrphanSocket } from '../model/queries.js';
import type { EarlyTables, FirstWalk, LinkReader, Offer, Walk } from './fd-walk.js';
import { fdName, isVanished } from './fd-walk.js';

/**
 * Counts the orphan sockets of one walk (p.orphanSockets): a socket fd missing from the tables is an
 * orphan only if its fd still holds it now, after the table read: one closed in between
 * (short-lived connection) has no row for a good reason. Marks it unseen 'netns' where its
 * namespace's tables were not read. Returns the readlinks made.
 */
export function judgeOrphans(walk: Walk, tables: ReadonlyMap<string, ReadonlySet<number>>, reader: LinkReader): number {
  const p = walk.process;
  if (p.sockets === null) return 0;
  if (walk.inodes.length === 0) {
    p.orphanSockets = 0;
    return 0;
  }
  if (p.netns === null || !tables.has(p.netns)) {
    p.unseen = 'netns';
    return 0;
  }
  let orphans = 0;
  let links = 0;
  const dir = `${reader.root}/${p.pid}/fd`;
  // Its namespace's rows looked up once: a row there is never an orphan, so isOrphanSocket is
  // asked only about the others (it took 17 ms of a bench scan when asked of all 39,600 inodes).
  const rows = tables.get(p.netns)!;
  for (let k = 0; k < walk.inodes.length; k++) {
    const inode = walk.inodes[k]!;
    if (rows.has(inode) || !isOrphanSocket(tables, p.netns, inode)) continue;
    let target: string;
    links++;
    try {
      target = reader.link(dir, fdName(walk.fdNames[k]!));
    } catch (error) {
      if (isVanished(error) || isDenied(error)) continue; // closed since: not an orphan
      throw error;
    }
    if (socketInodeOf(target) === inode) orphans++;
  }
  p.orphanSockets = orphans;
  return links;
}

/**
 * The orphan check of the units this thread walked first (walkFirst: the largest, walked before
 * the helper began any table read, so never late), made during the rest of the walk, as soon as
 * the helper's read of their namespace is in (`between`, called by walkShared after each unit),
 * rather than after the walk, when the helper has nothing left to do. A verdict is as good then as
 * after the walk: the read began after the unit was walked, the candidates' links are read again
 * after it ended. Measured on the bench load (the 15,000-fd process first, 2,000 never-bound
 * sockets): the check took 15-19 ms of this thread after both threads' walks had ended, the last
 * step before the report. A first unit whose namespace is read otherwise (the helper gave it up,
 * or it is not in the early job) is judged after the walk, as every other.
 */
export function judgeFirstEarly(reader: LinkReader, walks: readonly Walk[], offer: Offer, first: readonly FirstWalk[], early: EarlyTables):
  { between: () => void; done: Set<Walk>; links: () => number } {
  const byPid = new Map(walks.map((w) => [w.process.pid, w]));
  const pending: Walk[] = [];
  for (const f of first) {
    const walk = byPid.get(offer.pids[f.index]!);
    if (walk !== undefined && !f.outcome.late && f.outcome.outcome === 'ok') pending.push(walk);
  }
  const done = new Set<Walk>();
  let links = 0;
  const between = (): void => {
    for (let n = pending.length - 1; n >= 0; n--) {
      const walk = pending[n]!;
      const netns = walk.process.netns;
      const k = netns === null ? -1 : early.netns.indexOf(netns);
      if (k >= 0 && early.shared.ready?.(k) !== true) continue; // not read yet: next time
      pending.splice(n, 1);
      const read = k < 0 ? undefined : early.shared.take(k)?.read;
      if (read === undefined) continue; // judged after the walk
      links += judgeOrphans(walk, new Map([[netns!, read.tally.inodes]]), reader);
      done.add(walk);
    }
  };
  return { between, done, links: () => links };
}
