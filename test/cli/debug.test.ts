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
  it('diagnose: the same report, and one stderr line with each step\'s milliseconds', () => {
    const plain = run(['diagnose', String(sleeper.pid), '--json']);
    const debug = run(['--debug', 'diagnose', String(sleeper.pid), '--json']);
    expect(debug.status).toBe(plain.status);
    const strip = (out: string) => ({ ...JSON.parse(out), takenAt: null });
    expect(strip(debug.stdout)).toEqual(strip(plain.stdout));
    expect(debug.stderr).toMatch(/^fdleak: diagnose \d+ ms since node started: start-up and modules [\d.]+, fds [\d.]+ \(\d+ links, (shared with a second thread|one thread)\), socket tables [\d.]+, limits and sysctls [\d.]+, validation [\d.]+, rules [\d.]+, report [\d.]+\n$/);
  });

  it('scan: one stderr line with the walk, the tables and the second thread\'s part', () => {
    const r = run(['--debug', 'scan', '--top', '3']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/PID/);
    expect(r.stderr).toMatch(/^fdleak: scan [\d.]+ ms: facts [\d.]+, walk [\d.]+ \(\d+ readlinks, \d+ of \d+ processes on a second thread(: none started)?\), tables [\d.]+ \(\d+ of \d+ namespaces read on the second thread, \d+ read again after the walk\), orphan check [\d.]+ \(\d+ readlinks\)(, other namespaces' sysctls [\d.]+ more)?\n$/);
  });
});
