/**
 * The tables step of a scan when the helper thread read them during the walk (scan-tables.ts
 * readNamespaces), on the captured /proc tree of test/live/scan.test.ts: a stand-in helper that
 * claims no unit and hands back the reads it is told to, so that the order of the walk and the
 * reads is fixed. The real helper thread doing this is tested in threads/scan-helper.test.ts and
 * test/acceptance/scan.test.ts.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SharedTables, TablesRead, WalkHelper } from '../../src/live/fd-walk.js';
import { readNamespace } from '../../src/live/net-tables.js';
import { NODE_FS, scanProcesses } from '../../src/live/scan.js';
import type { ProcessStats } from '../../src/model/scan.js';

const ROOT = fileURLToPath(new URL('../../fixtures/scan/basic/proc', import.meta.url));
const LEAKY = 19448;
const OTHER_NETNS = 19455;

/** The socket inodes a process of the tree holds, from its fd links (plain string splitting). */
function socketInodes(pid: number): number[] {
  const dir = `${ROOT}/${pid}/fd`;
  return readdirSync(dir).map((n) => readlinkSync(`${dir}/${n}`)).filter((t) => t.startsWith('socket:[')).map((t) => Number(t.slice(8, -1)));
}

/**
 * A helper that walks nothing (this thread claims every unit) and "read" every namespace before
 * the walk: `started` says whether that read had begun by the time each unit was walked, and
 * `tables` turns this thread's own read of a namespace into what the helper is to hand back.
 */
function standIn(started: boolean, tables: (jobs: ReadonlyArray<number | 'self'>, read: TablesRead) => TablesRead): WalkHelper & { jobs: number } {
  const helper = {
    jobs: 0,
    share: (_root: string, units: readonly unknown[]) => {
      let next = 0;
      return { claim: () => next++, take: () => { throw new Error(`this thread claimed all ${units.length} units`); } };
    },
    shareTables: (root: string, jobs: ReadonlyArray<ReadonlyArray<number | 'self'>>): SharedTables => {
      helper.jobs = jobs.length;
      return {
        claim: () => jobs.length, // the helper claimed every namespace
        started: () => started,
        helped: () => jobs.length,
        take: (k) => tables(jobs[k]!, { read: readNamespace(NODE_FS, root, jobs[k]!), ms: 0 }),
      };
    },
  };
  return helper;
}

const orphans = (processes: readonly ProcessStats[]): unknown[] => processes.map((p) => [p.pid, p.sockets, p.orphanSockets]);

describe('tables read by the helper during the walk', () => {
  it('are taken as they are when the read began after every walk', async () => {
    const alone = await scanProcesses({ procRoot: ROOT });
    const helper = standIn(false, (_jobs, read) => read);
    const r = await scanProcesses({ procRoot: ROOT, helper });
    expect(helper.jobs).toBe(alone.snapshot.host.namespaces.length);
    expect(r.timings.tablesHelped).toBe(helper.jobs);
    expect(r.timings.tablesReread).toBe(0);
    expect(orphans(r.snapshot.processes)).toEqual(orphans(alone.snapshot.processes));
    expect(r.snapshot.host.namespaces).toEqual(alone.snapshot.host.namespaces);
  });

  it('are read again where a process walked after the read began holds a socket missing from it, and only there', async () => {
    const alone = await scanProcesses({ procRoot: ROOT });
    const other = alone.snapshot.processes.find((p) => p.pid === OTHER_NETNS)!;
    expect(other.orphanSockets).toBeGreaterThan(0);
    expect(alone.snapshot.processes.find((p) => p.pid === LEAKY)!.orphanSockets).toBeGreaterThan(0);
    // Every process is walked after the reads began. The other namespace's read is handed back
    // with rows for every socket its process holds (its never-bound ones too): nothing is missing
    // from it, so it is taken as it is, and judges them. The leaky process's namespace is read again.
    const inodes = socketInodes(OTHER_NETNS);
    const complete = (jobs: ReadonlyArray<number | 'self'>, read: TablesRead): TablesRead =>
      !jobs.includes(OTHER_NETNS) || read.read === undefined ? read : { ...read, read: { ...read.read, tally: { ...read.read.tally, inodes: new Set([...read.read.tally.inodes, ...inodes]) } } };
    const r = await scanProcesses({ procRoot: ROOT, helper: standIn(true, complete) });
    expect(r.timings.tablesReread).toBe(1);
    expect(orphans(r.snapshot.processes)).toEqual(orphans(alone.snapshot.processes).map((row) => ((row as number[])[0] === OTHER_NETNS ? [OTHER_NETNS, other.sockets, 0] : row)));
  });

  it('judge a late process by a read after the walk, not by one taken before its sockets were opened', async () => {
    const alone = await scanProcesses({ procRoot: ROOT });
    const leaky = alone.snapshot.processes.find((p) => p.pid === LEAKY)!;
    expect(leaky.sockets! - leaky.orphanSockets!).toBeGreaterThan(0); // it holds sockets that are rows
    // The helper's read of the leaky process's namespace lacks every row: as if it had been taken
    // before those sockets were opened. Judged by it, all of them would be orphans.
    const early = (jobs: ReadonlyArray<number | 'self'>, read: TablesRead): TablesRead =>
      !jobs.includes(LEAKY) || read.read === undefined ? read : { ...read, read: { ...read.read, tally: { ...read.read.tally, inodes: new Set() } } };
    const late = await scanProcesses({ procRoot: ROOT, helper: standIn(true, early) });
    expect(late.timings.tablesReread).toBe(2); // the other namespace too: its process holds never-bound sockets
    expect(orphans(late.snapshot.processes)).toEqual(orphans(alone.snapshot.processes));
    // Walked before that read began, the leaky process is judged by it: what the rule guards against.
    const before = await scanProcesses({ procRoot: ROOT, helper: standIn(false, early) });
    expect(before.timings.tablesReread).toBe(0);
    expect(before.snapshot.processes.find((p) => p.pid === LEAKY)!.orphanSockets).toBe(leaky.sockets);
  });
});
