/**
 * The fd lifecycle on real captures (fixtures/strace, programs in test/trace/programs): the
 * expectations are what each program does by construction (its source and the arguments in the
 * fixture README), and the golden file holds the whole result.
 */
import { describe, expect, it } from 'vitest';
import { buildTraceResult, type TraceResult } from '../../src/trace/result.js';
import type { FdTracker } from '../../src/trace/fd-tracker.js';
import { traceTable } from '../../src/report/trace/table.js';
import { replay } from './replay.js';

const WINDOW: TraceResult['window'] = { mode: 'launch', pid: null, command: null, startedAt: '2026-12-03T00:00:00.000Z', endedAt: '2026-12-03T00:00:01.000Z', durationMs: 1000, endedBy: 'exit' };
const result = (tracker: FdTracker): TraceResult => buildTraceResult({ tracker, window: WINDOW, lines: new Map(), end: new Map(), warnings: [] });
const bySymbol = (r: TraceResult, sym: string) => r.leaks.find((g) => g.ownFrame !== null && g.frames[g.ownFrame]!.symbol === sym);

describe('FdTracker on captures', () => {
  it('fork-threads 3 4 2 5 6: threads share the parent table, workers have copies', async () => {
    const { tracker } = replay('fork-threads.txt');
    const r = result(tracker);
    const parent = r.processes.find((p) => p.parent === null)!.pid;
    const workers = r.processes.filter((p) => p.parent === parent).map((p) => p.pid);
    expect(workers).toHaveLength(2);
    expect(bySymbol(r, 'thread_sockets')!.processes).toEqual([{ pid: parent, open: 0, heldToExit: 2 * 4 }]);
    expect(bySymbol(r, 'parent_pipes')!.processes).toEqual([{ pid: parent, open: 0, heldToExit: 2 * 3 }]);
    expect(bySymbol(r, 'worker_eventfds')!.processes.map((p) => [p.pid, p.heldToExit]).sort()).toEqual(workers.map((w) => [w, 5]).sort());
    expect(bySymbol(r, 'worker_churn')).toBeUndefined();
    const churn = r.churn.find((g) => g.frames[g.ownFrame ?? 0]?.symbol === 'worker_churn')!;
    expect([churn.opened, churn.closed]).toEqual([2 * 6, 2 * 6]);
    await expect(JSON.stringify(r, null, 2) + '\n').toMatchFileSnapshot('../../fixtures/strace/fork-threads.expected.json');
    await expect(traceTable(r, { color: false, version: '0', generatedAt: WINDOW.endedAt })).toMatchFileSnapshot('../../fixtures/strace/fork-threads.table.txt');
  });

  it('two-paths 5 7: the error path leaks 7 sockets to the backend, the closing path none', () => {
    const r = result(replay('two-paths.txt').tracker);
    const leak = bySymbol(r, 'query_backend')!;
    expect([leak.heldToExit, leak.summary]).toEqual([7, expect.stringMatching(/^7 TCP sockets to 127\.0\.0\.1:\d+$/)]);
    expect(bySymbol(r, 'fetch_and_close')).toBeUndefined();
  });

  it('kinds.py: every creator, cloexec dups, SCM_RIGHTS, a fork closing its copy', () => {
    const r = result(replay('kinds-python.txt').tracker);
    // Never closed before exit: the pipe's two ends, its F_DUPFD_CLOEXEC and dup2 copies, the fd
    // received with SCM_RIGHTS (a pipe), the eventfd and the memfd. The sockets were closed.
    const held = r.leaks.flatMap((g) => g.targets.map((t) => `${t.label}:${t.count}`)).sort();
    expect(held).toEqual(['eventfd:1', 'memfd:1', 'pipe:1', 'pipe:1', 'pipe:1', 'pipe:2'].sort());
    expect(r.leaks.every((g) => g.runtime === 'python')).toBe(true);
  });

  it('holds one entry per open fd and one record per stack, whatever the volume', () => {
    const once = replay('churn-attach.txt').tracker;
    const many = replay('churn-attach.txt', 50).tracker;
    expect(many.heldFds()).toBe(once.heldFds());
    expect([...many.stackRecords()].length).toBe([...once.stackRecords()].length);
    expect([...many.stackRecords()][0]!.opened).toBe(50 * [...once.stackRecords()][0]!.opened);
  });
});
