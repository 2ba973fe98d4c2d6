import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFdleak } from '../helpers/cli.js';
import { RULE_FIXTURES } from '../helpers/rule-case.js';
import { afterEach, describe, expect, it } from 'vitest';
import { locationOf } from '../../src/live/cgroup.js';
import { groupByLocation, locationLabels } from '../../src/model/location-groups.js';
import { parseCgroupLocation } from '../../src/parse/cgroup.js';
import { cgroupSupport, moveIntoCgroup } from '../helpers/cgroup.js';

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const cleanups: Array<() => void> = [];

function sleeper(): number {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child.pid!;
}

afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('locationOf on live processes', () => {
  it('names a process moved into a docker-style and a systemd-service cgroup', (ctx) => {
    const s = cgroupSupport();
    if (!s.ok) { console.warn(`skipped: ${s.reason}`); ctx.skip(); return; }
    const a = sleeper();
    const b = sleeper();
    const c = sleeper();
    cleanups.push(moveIntoCgroup(a, `/docker/${ID}`), moveIntoCgroup(b, `/docker/${ID}`), moveIntoCgroup(c, '/system.slice/fdleak-kinds-test.service'));
    // What the kernel says, read here without fdleak:
    expect(readFileSync(`/proc/${a}/cgroup`, 'utf8')).toContain(`/docker/${ID}`);
    expect(locationOf('/proc', a)).toMatchObject({ kind: 'container', runtime: 'docker', id: ID, name: ID.slice(0, 12) });
    expect(locationOf('/proc', c)).toMatchObject({ kind: 'unit', name: 'fdleak-kinds-test.service' });
    const groups = groupByLocation([a, b, c].map((pid) => ({ pid, location: locationOf('/proc', pid), fds: 3 })), 'container', ['fds']);
    expect(groups.map((g) => [g.name, g.processes, g.sums.fds])).toEqual([[ID.slice(0, 12), 2, 6], ['(host)', 1, 3]]);
    const units = groupByLocation([a, c].map((pid) => ({ pid, location: locationOf('/proc', pid), fds: 3 })), 'unit', ['fds']);
    expect(units.map((g) => g.name).sort()).toEqual(['(no unit)', 'fdleak-kinds-test.service']);
  });

  it('is null for a process that is gone, never an error', () => {
    expect(locationOf('/proc', 4_194_304)).toBeNull();
  });
});

describe('locationLabels (for scan --prometheus)', () => {
  it('gives a bounded kind and short name, never the cgroup path', () => {
    expect(locationLabels(null)).toEqual({ location_kind: 'none', location: '' });
    expect(locationLabels(parseCgroupLocation(`0::/system.slice/docker-${ID}.scope\n`))).toEqual({ location_kind: 'container', location: ID.slice(0, 12) });
    expect(locationLabels(parseCgroupLocation(`0::/system.slice/${'x'.repeat(100)}.service\n`)).location).toHaveLength(64);
  });
});

describe('diagnose shows where a process lives, escaped', () => {
  it('prints a unit name holding an escape sequence as visible escapes, and names it in --json', async () => {
    // A captured tree whose cgroup file names a unit with ESC ] 0 ; x BEL in it (a cgroup name is any byte string).
    const dir = mkdtempSync(join(tmpdir(), 'fdleak-cgroup-'));
    try {
      cpSync(`${RULE_FIXTURES}inotify-limit/quiet-few-watchers`, dir, { recursive: true, verbatimSymlinks: true });
      const pid = readdirSync(dir).find((n) => /^\d+$/.test(n))!;
      writeFileSync(join(dir, pid, 'cgroup'), '0::/system.slice/evil\u001b]0;x\u0007.service\n');
      const table = await runFdleak(['diagnose', pid, '--proc-root', dir, '--fail-on', 'never']);
      expect(table.stdout).toContain('lives in: unit evil\\x1b]0;x\\x07.service (systemd)   cgroup /system.slice/evil\\x1b]0;x\\x07.service');
      expect(table.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
      const json = JSON.parse((await runFdleak(['diagnose', pid, '--proc-root', dir, '--json', '--fail-on', 'never'])).stdout) as { process: { location: { name: string } }; fds: { anonByType: Record<string, number> } };
      expect([json.process.location.name, json.fds.anonByType]).toEqual(['evil\u001b]0;x\u0007.service', { inotify: 3 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
