/**
 * `fdleak diagnose` on a pid it cannot diagnose: exit code 2, exactly one line on stderr naming
 * the pid, nothing on stdout, no stack trace. Spawned as users run it: `node bin/fdleak.js`, env
 * reduced to PATH and NO_COLOR=1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runFdleak, type CliResult } from '../helpers/cli.js';

function expectOneLineError(r: CliResult, line: string): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`${line}\n`);
  expect(r.stderr).not.toContain('    at ');
}

/** Why the fds of `pid` cannot be read by us, or null if they can (EACCES is what we want). */
function fdsDenied(pid: number): boolean {
  try {
    readlinkSync(`/proc/${pid}/fd/0`);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EACCES';
  }
}

const isRoot = process.getuid?.() === 0;
const setprivWorks = isRoot && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0;
const pid1Denied = fdsDenied(1);

// A root-owned process for an unprivileged fdleak to look at; stdio /dev/null, so it has 3 fds.
const victim = setprivWorks ? spawn('sleep', ['60'], { stdio: 'ignore' }) : undefined;
afterAll(() => { victim?.kill('SIGKILL'); });

describe('fdleak diagnose: pids it cannot diagnose exit 2 with one line', () => {
  it('a pid that does not exist', async () => {
    // pid_max itself is never handed out (pids run from 1 to pid_max - 1).
    const pid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    expectOneLineError(await runFdleak(['diagnose', String(pid)]), `fdleak: pid ${pid}: no such process`);
    expectOneLineError(await runFdleak(['diagnose', String(pid), '--json']), `fdleak: pid ${pid}: no such process`);
  });

  it('a pid that is not a number', async () => {
    expectOneLineError(await runFdleak(['diagnose', 'nginx']), 'fdleak: <pid>: expected a process id (a positive number), found "nginx"');
    expectOneLineError(await runFdleak(['diagnose', '-5']), 'fdleak: <pid>: expected a process id (a positive number), found "-5"');
    expectOneLineError(await runFdleak(['diagnose', '0', '--json']), 'fdleak: <pid>: expected a process id (a positive number), found "0"');
  });

  it('a process whose fds the user may not read (uid 65534 against a root process)', async (ctx) => {
    if (!setprivWorks) ctx.skip(isRoot ? 'setpriv --reuid=65534 does not work here' : 'needs root to run fdleak as uid 65534');
    const pid = victim!.pid!;
    // Until its exec, the child is still a copy of node: wait for the comm to say sleep.
    for (let i = 0; i < 250 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 20));
    const r = await runFdleak(['diagnose', String(pid)], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    expectOneLineError(r, `fdleak: pid ${pid}: cannot read the fds of pid ${pid} (sleep): permission denied; run as root or as the process's owner`);
  });

  it('pid 1, whose fd links even root cannot read here', async (ctx) => {
    if (!pid1Denied) ctx.skip('the fds of pid 1 are readable here: no pid to be denied');
    const comm = readFileSync('/proc/1/comm', 'utf8').trim();
    expectOneLineError(await runFdleak(['diagnose', '1', '--json']),
      `fdleak: pid 1: cannot read the fds of pid 1 (${comm}): permission denied; run as root or as the process's owner`);
  });
});
