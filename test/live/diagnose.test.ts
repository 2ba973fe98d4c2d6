/**
 * collectLiveProcess must never present a process that went away while it was read as if its
 * numbers were whole: here the target is killed at a fixed point of the read (right after its fd
 * table, before its socket tables and limits), deterministically, through the step-timing hook.
 * The random-moment version over the CLI is test/acceptance/diagnose-vanished.test.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { InputError } from '../../src/errors.js';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import { pythonPath, startScenario, stopAll } from '../helpers/netns.js';

afterAll(stopAll);

/** The state letter of /proc/<pid>/stat, or null once the process is gone. */
function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(') ') + 2]!;
  } catch {
    return null;
  }
}

/** A timings map that kills `pid` when the step `at` ends, and waits (synchronously) until it has exited. */
function killAt(at: string, pid: number): Map<string, number> {
  const map = new Map<string, number>();
  const set = map.set.bind(map);
  map.set = (key: string, value: number) => {
    if (key === at) {
      process.kill(pid, 'SIGKILL');
      // Our event loop is blocked, so node cannot reap it: it stays a zombie, as with any parent that has not waited yet.
      const until = Date.now() + 5000;
      while (state(pid) !== 'Z' && state(pid) !== null && Date.now() < until) { /* spin: the kernel finishes the exit */ }
    }
    return set(key, value);
  };
  return map;
}

describe('collectLiveProcess of a process that exits while it is read', () => {
  it('throws one InputError naming the pid and command, instead of a snapshot', async () => {
    const s = await startScenario('near-limit.py', ['--limit=2000', '--percent=50'], { isolate: false });
    const comm = readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim();
    const read = collectLiveProcess(s.pid, { timings: killAt('fds', s.pid), backlog: false });
    await expect(read).rejects.toThrow(InputError);
    await expect(read).rejects.toThrow(`pid ${s.pid} (${comm}): exited while it was being read; no report (its numbers would be partial)`);
  });

  it('a process that has exited but is not reaped yet (a zombie) is said to have exited, not shown with 0 fds', async () => {
    // python forks a child that exits at once and never waits for it: the child stays a zombie.
    const parent = spawn(pythonPath(), ['-c', 'import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid,flush=True); time.sleep(30)'],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    onTestFinished(() => { parent.kill('SIGKILL'); });
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    for (let i = 0; i < 250 && state(zombie) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(state(zombie)).toBe('Z');
    await expect(collectLiveProcess(zombie, { backlog: false })).rejects.toThrow(
      /^pid \d+ \(python[\w.]*\): has exited \(a zombie until its parent reaps it\): it holds no fds to diagnose$/,
    );
  });

  it('a process alive throughout gives its whole table (the check does not cry wolf)', async () => {
    const s = await startScenario('near-limit.py', ['--limit=2000', '--percent=50'], { isolate: false });
    const snapshot = await collectLiveProcess(s.pid, { backlog: false });
    expect(snapshot.fds).toHaveLength(Number(s.ready.open));
  });
});
