/**
 * Where each process lives in `scan`: the captured tree fixtures/scan/basic/proc (copied), given the
 * captured /proc/<pid>/cgroup files of fixtures/cgroup/ (real `cat /proc/<pid>/cgroup` output of
 * processes placed in docker, kubepods and systemd layouts): the LOCATION column, `location` in
 * --json, the location labels in --prometheus, and --group unit|container, through the CLI.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFdleak } from '../../helpers/cli.js';

const FIXTURE = fileURLToPath(new URL('../../../fixtures/scan/basic/proc', import.meta.url));
const CGROUPS = fileURLToPath(new URL('../../../fixtures/cgroup/', import.meta.url));
const ID12 = '4f1c0a9b3d2e';
const POD = '8d4e5f6a-1b2c-4d3e-9f8a-7b6c5d4e3f2a';
let dir: string;

/** pid -> captured cgroup file. 19454 gets a unit name with an OSC escape and a bidi override in it. */
const PLACES: Record<string, string> = {
  19448: 'systemd-service.txt',
  19449: 'docker-systemd.txt', 19450: 'docker-systemd.txt', 19451: 'docker-systemd.txt', 19452: 'docker-systemd.txt',
  19455: 'kubepods-pod-only.txt',
  19453: 'root.txt',
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fdleak-scan-location-'));
  cpSync(FIXTURE, dir, { recursive: true, verbatimSymlinks: true });
  for (const [pid, file] of Object.entries(PLACES)) writeFileSync(join(dir, pid, 'cgroup'), readFileSync(join(CGROUPS, file)));
  writeFileSync(join(dir, '19454', 'cgroup'), '0::/system.slice/evil\u001b]0;x\u0007\u202e.service\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface JsonProcess { pid: number; fds: number; sockets: number; orphanSockets: number; location: { kind: string; runtime: string; name: string; pod: string | null } | null }

async function scanJson(...args: string[]): Promise<{ processes: JsonProcess[]; groups?: Array<{ name: string; processes: number; pids: number[]; fds: number; sockets: number; orphanSockets: number }> }> {
  const r = await runFdleak(['scan', '--proc-root', dir, '--json', ...args]);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('scan: where each process lives', () => {
  it('--json names each process\'s container, pod or unit; null at the root', async () => {
    const doc = await scanJson();
    const where = Object.fromEntries(doc.processes.map((p) => [p.pid, p.location === null ? null : [p.location.kind, p.location.runtime, p.location.name]]));
    expect(where).toEqual({
      19448: ['unit', 'systemd', 'nginx.service'],
      19449: ['container', 'docker', ID12], 19450: ['container', 'docker', ID12], 19451: ['container', 'docker', ID12], 19452: ['container', 'docker', ID12],
      19455: ['pod', 'kubernetes', `pod ${POD}`],
      19453: null,
      19454: ['unit', 'systemd', 'evil\u001b]0;x\u0007\u202e.service'],
    });
    expect(doc.processes.find((p) => p.pid === 19455)!.location!.pod).toBe(POD);
  });

  it('the table has a LOCATION column, escaped and of bounded width', async () => {
    const r = await runFdleak(['scan', '--proc-root', dir]);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202e]/);
    const rows = r.stdout.split('\n');
    const header = rows.find((l) => l.includes('LOCATION'))!;
    expect(header.trim().split(/\s{2,}/).at(-1)).toBe('LOCATION');
    const cell = (pid: string): string => rows.find((l) => l.trimStart().startsWith(pid))!.slice(header.indexOf('LOCATION')).trim();
    expect([cell('19448'), cell('19449-19452'), cell('19455'), cell('19453')]).toEqual(['nginx.service', `docker:${ID12}`, `pod ${POD}`.slice(0, 31) + '…', '-']);
    expect(cell('19454')).toBe('evil\\x1b]0;x\\x07\\u202e.service');
  });

  it('--prometheus carries bounded location labels, escaped', async () => {
    const r = await runFdleak(['scan', '--proc-root', dir, '--prometheus']);
    const fds = r.stdout.split('\n').filter((l) => l.startsWith('fdleak_process_open_fds{'));
    expect(fds).toContain(`fdleak_process_open_fds{pid="19449",command="worker",location_kind="container",location="${ID12}"} 9`);
    expect(fds).toContain('fdleak_process_open_fds{pid="19448",command="leaky-app",location_kind="unit",location="nginx.service"} 43');
    expect(fds).toContain('fdleak_process_open_fds{pid="19453",command="churn",location_kind="none",location=""} 5');
    expect(fds.find((l) => l.includes('pid="19454"'))).toContain('location="evil\\\\x1b]0;x\\\\x07\\\\u202e.service"');
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202e]/);
    expect((await runFdleak(['scan', '--proc-root', dir, '--prometheus', '--group', 'unit'])).code).toBe(2);
  });

  it('--group container and --group unit sum the processes of each (JSON and table)', async () => {
    const all = (await scanJson()).processes;
    const byContainer = (await scanJson('--group', 'container')).groups!;
    const sum = (pids: number[], f: 'fds' | 'sockets' | 'orphanSockets'): number => all.filter((p) => pids.includes(p.pid)).reduce((n, p) => n + p[f], 0);
    expect(byContainer.map((g) => [g.name, g.pids.sort()])).toEqual([
      ['(host)', [19448, 19453, 19454]],
      [ID12, [19449, 19450, 19451, 19452]],
      [`pod ${POD}`, [19455]],
    ]);
    for (const g of byContainer) {
      expect([g.processes, g.fds, g.sockets, g.orphanSockets]).toEqual([g.pids.length, sum(g.pids, 'fds'), sum(g.pids, 'sockets'), sum(g.pids, 'orphanSockets')]);
    }
    const byUnit = (await scanJson('--group', 'unit')).groups!;
    expect(Object.fromEntries(byUnit.map((g) => [g.name, g.processes]))).toEqual({
      '(no unit)': 2, 'nginx.service': 1, [`docker-${'4f1c0a9b3d2e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a'}.scope`]: 4,
      'evil\u001b]0;x\u0007\u202e.service': 1,
    });
    const table = (await runFdleak(['scan', '--proc-root', dir, '--group', 'container'])).stdout;
    expect(table).toMatch(new RegExp(`^${ID12} +4 +36 +8 +0$`, 'm'));
    expect(table).toMatch(/^CONTAINER +PROCS +FDS +SOCKETS +ORPHANS$/m);
  });
});
