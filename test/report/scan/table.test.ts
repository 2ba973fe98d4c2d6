import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ScannedProcess } from '../../../src/live/scan.js';
import { rankProcesses, scanProcesses } from '../../../src/live/scan.js';
import { scanJson } from '../../../src/report/scan/json.js';
import { groupRows, scanTable } from '../../../src/report/scan/table.js';

const ROOT = fileURLToPath(new URL('../../../fixtures/scan/basic/proc', import.meta.url));
const scanned = () => scanProcesses({ procRoot: ROOT, now: () => new Date('2026-11-22T03:00:00.000Z') });

describe('scan table', () => {
  it('puts the leak first and collapses the identical workers into one row', async () => {
    const result = scanned();
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { color: false, top: 20, sort: 'fds', root: true });
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

  it('cuts at --top rows and says how many more there are', () => {
    const result = scanned();
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { color: false, top: 2, sort: 'fds', root: true });
    expect(text).toContain('3 more rows (--top 5 shows all)');
    expect(text).not.toContain('churn');
  });

  it('marks unreadable processes and says how to see them when not root', () => {
    const result = scanned();
    const leaky = result.processes[0]!;
    Object.assign(leaky, { sockets: null, orphanSockets: null, unseen: 'permission' });
    result.skippedProcesses.permission.push({ pid: leaky.pid, command: leaky.command });
    result.skipped.permission = 1;
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { color: false, top: 20, sort: 'fds', root: false });
    expect(text).toMatch(/19448 +leaky-app +43 +\? +\?/);
    expect(text).toContain('note: sockets and orphans unknown ("?") for 1 process (other users\' processes; run as root to see them); their fd counts are the kernel\'s: 19448 leaky-app');
  });

  it('shows an unknown fd count as "?" and says why (kernels before 6.2)', () => {
    const result = scanned();
    const leaky = result.processes[0]!;
    Object.assign(leaky, { fds: null, sockets: null, orphanSockets: null, limitUsed: null, unseen: 'permission' });
    result.skippedProcesses.permission.push({ pid: leaky.pid, command: leaky.command });
    const text = scanTable(result, rankProcesses(result.processes, 'fds'), { color: false, top: 20, sort: 'fds', root: false });
    expect(text).toMatch(/19448 +leaky-app +\? +\? +\? +20000 +-/);
    expect(text).toContain('1 of them without an fd count either (before Linux 6.2, /proc/<pid>/fd reports size 0)');
  });

  it('colours only when asked', () => {
    const result = scanned();
    const plain = scanTable(result, result.processes, { color: false, top: 20, sort: 'fds', root: true });
    const coloured = scanTable(result, result.processes, { color: true, top: 20, sort: 'fds', root: true });
    expect(plain).not.toContain('\u001b[');
    expect(coloured).toMatch(/\u001b\[33m +19448 +leaky-app/); // 30 orphans: yellow
  });
});

describe('groupRows', () => {
  const p = (pid: number, command: string, fds: number, sockets: number | null = 0, orphanSockets: number | null = 0): ScannedProcess => ({
    pid, command, state: 'S', startTime: 1, fds, sockets, orphanSockets, fdLimit: { soft: 1024, hard: 4096 },
    limitUsed: fds / 1024, netns: null, unseen: null,
  });
  it('groups 40 similar workers, keeps the one leaking worker apart, leaves pairs alone', () => {
    const workers = Array.from({ length: 40 }, (_, i) => p(1000 + i, 'php-fpm', 12 + (i % 4), 3));
    const leaking = p(2000, 'php-fpm', 300, 290, 280);
    const pair = [p(3000, 'nginx', 50), p(3001, 'nginx', 51)];
    const rows = groupRows(rankProcesses([...workers, leaking, ...pair], 'fds'));
    expect(rows.map((r) => [r.members[0]!.command, r.members.length])).toEqual([
      ['php-fpm', 1], ['nginx', 1], ['nginx', 1], ['php-fpm', 40],
    ]);
  });
  it('does not group processes whose socket numbers differ though their fds match', () => {
    const rows = groupRows([p(1, 'w', 10, 0), p(2, 'w', 10, 0), p(3, 'w', 10, 0), p(4, 'w', 10, 9, 9)]);
    expect(rows.map((r) => r.members.map((m) => m.pid))).toEqual([[1, 2, 3], [4]]);
  });
});

describe('scan --json', () => {
  it('has the contract\'s fields first, in order, then additions', async () => {
    const result = scanned();
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
