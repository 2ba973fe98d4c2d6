/**
 * diffSnapshots on the two captured /proc trees of a worker leaking 5 fds a second
 * (fixtures/rules/fd-growth/fires-steady-leak): what appeared is what the fd directories say
 * (read here by the test's own helper), grouped by kind and target.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import { combineSnapshots } from '../../src/model/combine.js';
import { diffSnapshots } from '../../src/model/diff.js';
import { fdTargets } from '../helpers/proc.js';
import { RULE_FIXTURES } from '../helpers/rule-case.js';

const dir = `${RULE_FIXTURES}fd-growth/fires-steady-leak`;
const times = JSON.parse(readFileSync(`${dir}/times.json`, 'utf8')) as { pid: number; first: string; second: string };
const read = (which: 'first' | 'second') => collectLiveProcess(times.pid, { procRoot: `${dir}/${which}`, now: () => new Date(times[which]) });

/** Kind of a link target, as a person names it. */
function kindOf(target: string): string {
  return target.startsWith('/') ? 'file' : target.startsWith('pipe:') ? 'pipe' : target.startsWith('socket:') ? 'socket' : 'other';
}

describe('diffSnapshots', () => {
  it('lists what appeared between two reads, grouped, as the fd directories say', async () => {
    const d = diffSnapshots(await read('first'), await read('second'));
    const before = fdTargets(times.pid, `${dir}/first`);
    const after = fdTargets(times.pid, `${dir}/second`);
    const truth = new Map<string, number>();
    for (const [fd, target] of after) if (before.get(fd) !== target) truth.set(kindOf(target), (truth.get(kindOf(target)) ?? 0) + 1);
    const p = d.processes[0]!;
    expect(p.status).toBe('compared');
    if (p.status !== 'compared') return;
    const byKind = new Map<string, number>();
    for (const g of p.appeared) byKind.set(g.kind, (byKind.get(g.kind) ?? 0) + g.count);
    expect(byKind).toEqual(truth);
    expect(p.appeared.map((g) => g.group)).toEqual(expect.arrayContaining(['/tmp/fdleak-steady-leak.log', 'pipe', 'udp UNCONN bound to 127.0.0.1']));
    expect(p.vanished).toEqual([]);
    expect(d.seconds).toBe((Date.parse(times.second) - Date.parse(times.first)) / 1000);
  });

  it('a snapshot against itself: no change', async () => {
    const a = await read('second');
    const d = diffSnapshots(a, a);
    expect(d.processes.map((p) => p.status === 'compared' && [p.appeared, p.vanished])).toEqual([[[], []]]);
  });

  it('processes in one snapshot only, and a pid with another start time, are not compared', async () => {
    const a = await read('first');
    const other = { ...a, processes: [{ ...a.processes[0]!, pid: 99 }], fds: a.fds.map((f) => ({ ...f, pid: 99 })) };
    expect(diffSnapshots(a, other).processes.map((p) => p.status)).toEqual(['only-a', 'only-b']);
    const reused = { ...a, processes: [{ ...a.processes[0]!, startTime: a.processes[0]!.startTime! + 500 }] };
    expect(diffSnapshots(a, reused).processes.map((p) => p.status)).toEqual(['restarted']);
  });

  it('several processes in one snapshot: each kept, a shared socket row once', async () => {
    const a = await read('first');
    const b = await read('second');
    const both = combineSnapshots([a, { ...b, processes: [{ ...b.processes[0]!, pid: 99 }], fds: b.fds.map((f) => ({ ...f, pid: 99 })) }]);
    expect(both.processes.map((p) => p.pid)).toEqual([times.pid, 99]);
    expect(both.fds.length).toBe(a.fds.length + b.fds.length);
    expect(new Set(both.sockets.map((s) => s.inode)).size).toBe(both.sockets.length);
  });
});
