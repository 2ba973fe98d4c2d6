/**
 * --debug on a run that succeeds: the report on stdout as without it, and one line on stderr saying
 * where the time went (the numbers an operator or a developer needs to see why a run was slow).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/fdleak.js', import.meta.url));
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' };
const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
afterAll(() => { sleeper.kill('SIGKILL'); });

const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env: ENV, encoding: 'utf8', timeout: 60_000 });

describe('--debug', () => {
  it('diagnose: the same report, and two stderr lines: each step\'s milliseconds, then both threads\' timeline and the CPU spent', () => {
    const plain = run(['diagnose', String(sleeper.pid), '--json']);
    const debug = run(['--debug', 'diagnose', String(sleeper.pid), '--json']);
    expect(debug.status).toBe(plain.status);
    const strip = (out: string) => ({ ...JSON.parse(out), takenAt: null });
    expect(strip(debug.stdout)).toEqual(strip(plain.stdout));
    const [steps, timeline, end] = debug.stderr.split('\n');
    expect(steps).toMatch(/^fdleak: diagnose \d+ ms since node started: start-up and modules [\d.]+( \(start-up snapshot\))?, fds [\d.]+ \(\d+ links, (shared with a second thread|one thread)\), socket tables [\d.]+, limits and sysctls [\d.]+, validation [\d.]+, rules [\d.]+, report [\d.]+$/);
    expect(timeline).toMatch(/^fdleak: timeline: .*start [\d.]+, .*fds [\d.]+, .*report [\d.]+; cpu: main thread \d+ ms, all threads \d+ ms$/);
    expect(end).toBe('');
    // The timeline is in time order, the second thread's steps (when it ran: none without one) among the main thread's.
    const at = [...timeline!.matchAll(/ ([\d.]+)(?=,|;)/g)].map((m) => Number(m[1]));
    expect(at.length).toBeGreaterThan(5);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    if (/one thread/.test(steps!)) expect(timeline).not.toMatch(/second thread/);
  });

  it('scan: a stderr line with the walk, the tables and the second thread\'s part, and one with when each step ended', () => {
    const r = run(['--debug', 'scan', '--top', '3']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/PID/);
    const [summary, timeline, ...rest] = r.stderr.split('\n');
    expect(rest).toEqual(['']);
    expect(summary).toMatch(/^fdleak: scan [\d.]+ ms( \(start-up snapshot\))?: facts [\d.]+, walk [\d.]+ \(\d+ readlinks, \d+ of \d+ processes on a second thread(: none started)?\), tables [\d.]+ \(\d+ of \d+ namespaces read on the second thread, \d+ read again after the walk\), orphan check [\d.]+ \(\d+ readlinks; \d+ more during the walk\)(, other namespaces' sysctls [\d.]+ more)?$/);
    const m = /^fdleak: scan timeline, ms since start: walk handed out (-|[\d.]+), scan began ([\d.]+), walk done ([\d.]+), tables ([\d.]+), orphan check ([\d.]+); helper: (none|got the walk [\d.]+, tables [\d.]+-[\d.]+, walk done [\d.]+)$/.exec(timeline!);
    expect(m, timeline).not.toBeNull();
    const steps = m!.slice(2, 6).map(Number); // in the order they run
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(m![6] === 'none').toBe(summary!.includes('none started'));
  });
});
