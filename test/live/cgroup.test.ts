import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
