import { describe, expect, it } from 'vitest';
import { isOrphanSocket, rankProcesses, rowsInState, scanSortKey } from '../../src/model/queries.js';
import { TCP_STATES } from '../../src/model/tcp-state.js';
import { parseProcNetInet } from '../../src/parse/proc-net-inet.js';
import { fixture } from '../parse/fuzz.js';
import type { ProcessStats } from '../../src/model/scan.js';

describe('rankProcesses', () => {
  const p = (pid: number, fds: number, sockets: number | null, orphanSockets: number | null, limitUsed: number | null): ProcessStats => ({
    pid, command: 'x', state: 'S', startTime: 1, fds, sockets, orphanSockets, fdLimit: null, limitUsed, netns: null, unseen: null, location: null,
  });
  const list = [p(1, 10, 5, 0, 0.5), p(2, 30, null, null, 0.1), p(3, 20, 8, 8, null), p(4, 20, 5, 1, 0.9)];
  it.each([
    ['fds', [2, 3, 4, 1]],
    ['sockets', [3, 4, 1, 2]],
    ['orphans', [3, 4, 1, 2]],
    ['headroom', [4, 1, 2, 3]],
  ] as const)('by scan --sort %s, unknown last, ties by fds then pid', (sort, pids) => {
    expect(rankProcesses(list, scanSortKey(sort), (q) => q.fds).map((q) => q.pid)).toEqual(pids);
  });
  it('by the worst finding (a lower index ranks first, none last), as analyze orders its processes', () => {
    const worst = new Map([[3, 0], [1, 2]]);
    const procs = [{ pid: 1, n: 5 }, { pid: 2, n: 50 }, { pid: 3, n: 1 }, { pid: 4, n: 60 }];
    expect(rankProcesses(procs, (q) => (worst.has(q.pid) ? -worst.get(q.pid)! : null), (q) => q.n).map((q) => q.pid)).toEqual([3, 1, 4, 2]);
  });
});

describe('isOrphanSocket', () => {
  const tables = new Map([['net:[1]', new Set(['10', '11'])], ['net:[2]', new Set(['20'])]]);
  it('judges a socket by the tables of its own namespace only', () => {
    expect(isOrphanSocket(tables, 'net:[1]', '10')).toBe(false);
    expect(isOrphanSocket(tables, 'net:[1]', '20')).toBe(true); // a row of another namespace is no alibi
    expect(isOrphanSocket(tables, 'net:[2]', '20')).toBe(false);
    expect(isOrphanSocket(tables, 'net:[3]', '10')).toBe(true); // a namespace whose tables were not read
  });
  it('counts rows of an unknown namespace for everyone, and any table for a process whose namespace is unknown', () => {
    const withUnknown = new Map([...tables, ['', new Set(['30'])]]);
    expect(isOrphanSocket(withUnknown, 'net:[2]', '30')).toBe(false);
    expect(isOrphanSocket(tables, null, '20')).toBe(false);
    expect(isOrphanSocket(tables, null, '99')).toBe(true);
  });
  it('works the same on numbers (scan keeps inodes as numbers)', () => {
    expect(isOrphanSocket(new Map([['net:[1]', new Set([10])]]), 'net:[1]', 10)).toBe(false);
    expect(isOrphanSocket(new Map([['net:[1]', new Set([10])]]), 'net:[1]', 11)).toBe(true);
  });
});

describe('rowsInState', () => {
  // A real /proc/net/tcp of many states (fixtures/proc-net/README.md).
  const rows = parseProcNetInet(fixture('proc-net/tcp.txt'), 'proc-net/tcp.txt', 'tcp', null, 'LE');

  it('gives the rows of each state in their order, as a filter does', () => {
    expect(new Set(rows.map((s) => s.state)).size).toBeGreaterThan(5);
    for (const state of [...TCP_STATES, null]) expect(rowsInState(rows, state)).toEqual(rows.filter((s) => s.state === state));
  });

  it('files the rows once per array: the same list when asked again, another array its own', () => {
    expect(rowsInState(rows, 'LISTEN')).toBe(rowsInState(rows, 'LISTEN'));
    const fewer = rows.slice(1);
    expect(rowsInState(fewer, 'LISTEN')).toEqual(fewer.filter((s) => s.state === 'LISTEN'));
  });
});
