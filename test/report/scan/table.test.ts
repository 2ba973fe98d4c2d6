import { fileURLToPath } from 'node:url';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { scanProcesses } from '../../../src/live/scan.js';
import { rankProcesses as rankBy, scanSortKey } from '../../../src/model/queries.js';
import type { Access, ProcessStats, ScanSort } from '../../../src/model/scan.js';
import type { ScanGrowth } from '../../../src/model/scan-growth.js';
import { scanJson } from '../../../src/report/scan/json.js';
import { groupRows, PLAIN, scanTable } from '../../../src/report/scan/table.js';

const ROOT = fileURLToPath(new URL('../../../fixtures/scan/basic/proc', import.meta.url));
const scanned = async () => (await scanProcesses({ procRoot: ROOT, now: () => new Date('2026-11-22T03:00:00.000Z') })).snapshot;
const rankProcesses = (list: readonly ProcessStats[], sort: ScanSort): ProcessStats[] => rankBy(list, scanSortKey(sort), (p) => p.fds);

describe('scan table', () => {
  it('puts the leak first and collapses the identical workers into one row', async () => {
    const result = await scanned();
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 20, sort: 'fds' });
    const table = text.split('\n').filter((l) => /^\s*[\d-]+\s{2}/.test(l));
    expect(table.map((l) => l.trim().split(/\s{2,}/).slice(0, 5))).toEqual([
      ['19448', 'leaky-app', '43', '36', '30'],
      ['19449-19452', 'worker x4', '9', '2', '0'],
      ['19455', 'in-other-netns', '9', '5', '2'],
      ['19453', 'churn', '5', '1', '0'],
      ['19454', 'my (odd) name', '5', '0', '0'],
    ]);
    await expect(text).toMatchFileSnapshot('../../../fixtures/scan/basic/expected.table.txt');
  });

  it('cuts at --top rows and says how many more there are', async () => {
    const result = await scanned();
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 2, sort: 'fds' });
    expect(text).toContain('3 more rows (--top 5 shows all)');
    expect(text).not.toContain('churn');
  });

  it('marks unreadable processes and says how to see them when not root', async () => {
    const result = await scanned();
    const leaky = result.processes[0]!;
    Object.assign(leaky, { sockets: null, orphanSockets: null, unseen: 'permission' });
    result.skippedProcesses.permission.push({ pid: leaky.pid, command: leaky.command });
    result.skipped.permission = 1;
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 20, sort: 'fds' });
    expect(text).toMatch(/19448 +leaky-app +43 +\? +\?/);
    expect(text).toContain('note: sockets and orphans unknown ("?") for 1 process (other users\' processes; run as root to see them); their fd counts are the kernel\'s: 19448 leaky-app');
  });

  it('suggests diagnosing the top process it could read, not one the kernel refused', async () => {
    const result = await scanned();
    const leaky = result.processes[0]!;
    Object.assign(leaky, { sockets: null, orphanSockets: null, unseen: 'permission' });
    result.skippedProcesses.permission.push({ pid: leaky.pid, command: leaky.command });
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 20, sort: 'fds' });
    expect(text.split('\n')[6]).toMatch(/^ +19448 +leaky-app/); // still ranked first
    expect(text).toContain('Next: fdleak diagnose 19449\n'); // the first member of the next row
    for (const p of result.processes) Object.assign(p, { sockets: null, orphanSockets: null, unseen: 'permission' });
    expect(scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 20, sort: 'fds' }))
      .toContain('No listed process could be read fully: fdleak diagnose would be refused too');
  });

  it.each([
    [{ ptrace: false, nestedUserns: false, missingCaps: ['cap_sys_admin'] }, 'fdleak runs without CAP_SYS_PTRACE (a container started without it?) and pid 19448 holds cap_sys_admin, which fdleak lacks; the kernel\'s ptrace check then refuses'],
    [{ ptrace: true, nestedUserns: true, missingCaps: [] }, 'fdleak runs in a user namespace of its own (a rootless container)'],
    [{ ptrace: true, nestedUserns: false, missingCaps: ['cap_sys_resource'] }, 'permission denied even to root with CAP_SYS_PTRACE; pid 19448 holds cap_sys_resource, which fdleak lacks: a security module or sandbox policy refuses'],
  ] as const)('tells root what refuses it (%j)', async (access, says) => {
    const result = await scanned();
    const leaky = result.processes[0]!;
    Object.assign(leaky, { sockets: null, orphanSockets: null, unseen: 'permission' });
    result.skippedProcesses.permission.push({ pid: leaky.pid, command: leaky.command });
    result.access = { root: true, ...access, missingCaps: [...access.missingCaps] } satisfies Access;
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 20, sort: 'fds' });
    expect(text).toContain(says);
    expect(text).not.toContain('run as root');
  });

  it('shows others\' names escaped, one row per process', async () => {
    const result = await scanned();
    const names = ['\u001b]0;pwned\u0007', '\u001b[2J\u001b[31mEVIL', 'two\nlines', 'tab\there', '\u202eevil', 'caf\u00e9-\u6570\u636e', 'bad\\xff'];
    result.processes.slice(0, names.length).forEach((p, i) => { p.command = names[i]!; });
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 20, sort: 'fds' });
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    const lines = text.split('\n');
    const rows = lines.slice(lines.findIndex((l) => /PID +COMMAND/.test(l)) + 1, lines.indexOf('', 6));
    expect(rows).toHaveLength(8); // one line each, the workers no longer share a command
    expect(text).toContain('\\x1b]0;pwned\\x07');
    expect(text).toContain('two\\nlines');
    expect(text).toContain('\\u202eevil');
    expect(text).toContain('caf\u00e9-\u6570\u636e');
  });

  it('shows an unknown fd count as "?" and says why (kernels before 6.2)', async () => {
    const result = await scanned();
    const leaky = result.processes[0]!;
    Object.assign(leaky, { fds: null, sockets: null, orphanSockets: null, limitUsed: null, unseen: 'permission' });
    result.skippedProcesses.permission.push({ pid: leaky.pid, command: leaky.command });
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { paint: PLAIN, top: 20, sort: 'fds' });
    expect(text).toMatch(/19448 +leaky-app +\? +\? +\? +20000 +-/);
    expect(text).toContain('1 of them without an fd count either (before Linux 6.2, /proc/<pid>/fd reports size 0)');
  });

  it('colours only when asked', async () => {
    const result = await scanned();
    const plain = scanTable(result, result.processes, { paint: PLAIN, top: 20, sort: 'fds' });
    const coloured = scanTable(result, result.processes, { paint: new Chalk({ level: 1 }), top: 20, sort: 'fds' });
    expect(plain).not.toContain('\u001b[');
    expect(coloured).toMatch(/\u001b\[33m +19448 +leaky-app/); // 30 orphans: yellow
  });
});

describe('groupRows', () => {
  const p = (pid: number, command: string, fds: number, sockets: number | null = 0, orphanSockets: number | null = 0): ProcessStats => ({
    pid, command, state: 'S', startTime: 1, fds, sockets, orphanSockets, fdLimit: { soft: 1024, hard: 4096 },
    limitUsed: fds / 1024, netns: null, unseen: null, location: null,
  });
  it('groups 40 similar workers, keeps the one leaking worker apart, leaves pairs alone', async () => {
    const workers = Array.from({ length: 40 }, (_, i) => p(1000 + i, 'php-fpm', 12 + (i % 4), 3));
    const leaking = p(2000, 'php-fpm', 300, 290, 280);
    const pair = [p(3000, 'nginx', 50), p(3001, 'nginx', 51)];
    const rows = groupRows(rankProcesses([...workers, leaking, ...pair], 'fds'));
    expect(rows.map((r) => [r.members[0]!.command, r.members.length])).toEqual([
      ['php-fpm', 1], ['nginx', 1], ['nginx', 1], ['php-fpm', 40],
    ]);
  });
  it('groups as comparing every member with every newcomer would (the rule as first written), on random processes', () => {
    // The rule spelled out pairwise over the whole cluster, as groupRows first did it: the oracle
    // its kept-spread form (Cluster) must agree with, with and without --sample's growth.
    let seed = 7;
    const next = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const close = (values: Array<number | null>, floor: number, abs: boolean): boolean => {
      if (values.every((v) => v === null)) return true;
      if (values.some((v) => v === null)) return false;
      const lo = Math.min(...(values as number[]));
      return Math.max(...(values as number[])) - lo <= Math.max(floor, (abs ? Math.abs(lo) : lo) * 0.25);
    };
    const oracle = (list: ProcessStats[], growth?: ScanGrowth): number[][] => {
      const rate = (q: ProcessStats): number | null => growth?.byPid.get(q.pid)?.perSecond ?? null;
      const clusters: ProcessStats[][] = [];
      for (const q of [...list].sort((a, b) => (a.fds ?? -1) - (b.fds ?? -1) || a.pid - b.pid)) {
        const home = clusters.find((c) => {
          const all = [...c, q];
          if (c[0]!.fdLimit?.soft !== q.fdLimit?.soft || c[0]!.unseen !== q.unseen) return false;
          if (growth !== undefined && (c.some((m) => growth.byPid.get(m.pid)?.status !== growth.byPid.get(q.pid)?.status) || !close(all.map(rate), 1, true))) return false;
          return close(all.map((m) => m.fds), 4, false) && close(all.map((m) => m.sockets), 4, false) && close(all.map((m) => m.orphanSockets), 4, false);
        });
        if (home === undefined) clusters.push([q]);
        else home.push(q);
      }
      return clusters.filter((c) => c.length >= 3).map((c) => c.map((m) => m.pid).sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
    };
    const statuses = ['compared', 'restarted', 'appeared'] as const;
    for (let round = 0; round < 200; round++) {
      const list = Array.from({ length: 3 + next(40) }, (_, i) => {
        const q = p(100 + i, 'w', next(60), next(5) === 0 ? null : next(30), next(6) === 0 ? null : next(12));
        if (next(8) === 0) q.fdLimit = { soft: 4096, hard: 4096 };
        return q;
      });
      const growth: ScanGrowth | undefined = round % 2 === 0 ? undefined : {
        sampleMs: 1000, vanished: [], restarted: [],
        byPid: new Map(list.map((q) => [q.pid, { status: statuses[next(6) === 0 ? 1 + next(2) : 0]!, from: null, to: q.fds, seconds: 1, perSecond: next(5) === 0 ? null : next(12) - 4, byKind: null, points: null }])),
      };
      const ours = groupRows(list, growth).filter((r) => r.members.length >= 3).map((r) => r.members.map((m) => m.pid).sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
      expect(ours, `round ${round}`).toEqual(oracle(list, growth));
    }
  });
  it('does not group processes whose socket numbers differ though their fds match', async () => {
    const rows = groupRows([p(1, 'w', 10, 0), p(2, 'w', 10, 0), p(3, 'w', 10, 0), p(4, 'w', 10, 9, 9)]);
    expect(rows.map((r) => r.members.map((m) => m.pid))).toEqual([[1, 2, 3], [4]]);
  });
});

describe('scan --json', () => {
  it('has the contract\'s fields first, in order, then additions', async () => {
    const result = await scanned();
    const text = scanJson(result, rankProcesses(result.processes, 'fds'), 'fds');
    const doc = JSON.parse(text) as { schema: string; processes: Array<Record<string, unknown>>; skipped: unknown };
    expect(Object.keys(doc).slice(0, 3)).toEqual(['schema', 'processes', 'skipped']);
    expect(doc.schema).toBe('fdleak/scan@1');
    expect(Object.keys(doc.processes[0]!).slice(0, 7)).toEqual(['pid', 'command', 'fds', 'sockets', 'orphanSockets', 'fdLimit', 'limitUsed']);
    expect(doc.processes[0]).toMatchObject({ pid: 19448, fds: 43, sockets: 36, orphanSockets: 30, fdLimit: 20000, limitUsed: 0.0022 });
    expect(doc.skipped).toEqual({ permission: 0, vanished: 0 });
    await expect(text).toMatchFileSnapshot('../../../fixtures/scan/basic/expected.json');
  });
});
