/**
 * Acceptance of `fdleak trace -- <command>` (issue 13, points 1-3) on real programs: C programs
 * built here with gcc -g (test/trace/programs), and a Python one. Each program prints a ready line
 * once its fds are in place and then sleeps; at that moment the test reads /proc/<pid>/fd and the
 * process's own /proc/<pid>/net/tcp (test/helpers/proc.ts, independent of src/) for the expected
 * numbers; fdleak's window (--duration) ends later, so both see the same table.
 * Needs strace with -k, gcc and addr2line: .ci/tools.sh installs them in CI; elsewhere skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fdTargets, tcpRows } from '../helpers/proc.js';
import type { TraceResult, LeakGroup } from '../../src/trace/result.js';
import { traceTable } from '../../src/report/trace/table.js';
import { buildProgram, cleanPrograms, countFds, killAll, missingTools, PROGRAMS, sourceLine, startFdleak } from '../trace/run.js';

const missing = missingTools();
const pids = new Set<number>();
afterEach(() => { killAll(pids); pids.clear(); });
afterAll(() => cleanPrograms());

/** The group whose own innermost frame is in `fn`. */
const byOwn = (r: TraceResult, fn: string): LeakGroup | undefined =>
  r.leaks.find((g) => g.ownFrame !== null && g.frames[g.ownFrame]!.function === fn);

describe.skipIf(missing !== null)('fdleak trace -- <command>', () => {
  beforeAll(() => { if (missing !== null) console.warn(`trace acceptance skipped: ${missing}`); });

  it('names the leaking function and line with the exact count, and not the closing path (1)', async () => {
    const bin = buildProgram('two-paths');
    const run = startFdleak(['trace', '--duration', '4s', '--json', '--', bin, '5', '7', '60']);
    const ready = await run.ready();
    const pid = Number(ready.pid);
    const port = Number(ready.port);
    pids.add(pid);
    // Truth at this moment: the program's client sockets to its listener, from /proc.
    const fds = fdTargets(pid);
    const inodes = new Set([...fds.values()].map((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1]).filter(Boolean));
    const clients = tcpRows(pid).filter((r) => r.remotePort === port && inodes.has(r.inode));
    expect(clients.length).toBeGreaterThan(0);
    const { code, stdout, stderr } = await run.done;
    expect(stderr).not.toMatch(/    at /);
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as TraceResult;
    expect(r.schema).toBe('fdleak/trace@1');
    const leak = byOwn(r, 'query_backend');
    expect(leak, JSON.stringify(r.leaks.map((g) => g.summary))).toBeDefined();
    const own = leak!.frames[leak!.ownFrame!]!;
    expect(own.file).toMatch(/two-paths\.c$/);
    expect(own.line).toBe(sourceLine('two-paths.c', 'static int query_backend', 'socket('));
    expect(leak!.open).toBe(clients.length);
    expect(leak!.summary).toBe(`${clients.length} TCP sockets to 127.0.0.1:${port}`);
    expect(leak!.targets[0]!.states).toEqual({ ESTABLISHED: clients.filter((c) => c.state === 'ESTABLISHED').length });
    expect(leak!.processes).toEqual([{ pid, open: clients.length, heldToExit: 0 }]);
    // The closing path is churn, never a leak.
    expect(byOwn(r, 'fetch_and_close')).toBeUndefined();
    const churn = r.churn.find((g) => g.ownFrame !== null && g.frames[g.ownFrame]!.function === 'fetch_and_close');
    expect(churn).toBeDefined();
    expect(churn!.opened).toBe(churn!.closed);
    expect(churn!.frames[churn!.ownFrame!]!.line).toBe(sourceLine('two-paths.c', 'static int fetch_and_close', 'socket('));
    // The launched program was ended with the window (gone, or a zombie waiting for its new parent).
    let state = 'gone';
    try { state = /^State:\s*(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!; } catch { /* gone */ }
    expect(['gone', 'Z']).toContain(state);
  });

  it('attributes fds to the process that opened them across forks and threads (2)', async () => {
    const bin = buildProgram('fork-threads', ['-pthread']);
    const run = startFdleak(['trace', '--duration', '4s', '--json', '--', bin, '3', '4', '2', '5', '6', '60']);
    const ready = await run.ready((x) => x.role === 'parent');
    const parent = Number(ready.pid);
    const workers = (ready.workers as number[]).map(Number);
    for (const p of [parent, ...workers]) pids.add(p);
    const parentFds = fdTargets(parent);
    const udp = countFds(new Map([...parentFds].filter(([fd]) => fd > 2)), (t) => t.startsWith('socket:')); // 0-2: the test's stdio socketpairs
    const eventfds = new Map(workers.map((w) => [w, countFds(fdTargets(w), (t) => t === 'anon_inode:[eventfd]')]));
    // The parent's pipes that no worker holds: those it made (a pipe inherited from the test's
    // environment is held by the workers too).
    const workerTargets = new Set(workers.flatMap((w) => [...fdTargets(w).values()]));
    const pipes = countFds(parentFds, (t) => t.startsWith('pipe:') && !workerTargets.has(t));
    expect(pipes).toBeGreaterThan(0);
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as TraceResult;
    // Threads share the parent's table: their sockets are the parent's.
    const threads = byOwn(r, 'thread_sockets');
    expect(threads?.processes).toEqual([{ pid: parent, open: udp, heldToExit: 0 }]);
    expect(threads?.summary).toBe(`${udp} UDP sockets`);
    // The workers closed their copies of the parent's pipes: the parent's stay counted, and are not the workers'.
    expect(byOwn(r, 'parent_pipes')?.processes).toEqual([{ pid: parent, open: pipes, heldToExit: 0 }]);
    // Each worker's own leak is its own.
    const ev = byOwn(r, 'worker_eventfds');
    expect(new Map(ev?.processes.map((p) => [p.pid, p.open]))).toEqual(eventfds);
    expect(byOwn(r, 'worker_churn')).toBeUndefined();
    const churn = r.churn.find((g) => g.ownFrame !== null && g.frames[g.ownFrame]!.function === 'worker_churn');
    expect(churn?.opened).toBe(churn?.closed);
    expect(churn?.opened).toBeGreaterThan(0);
    expect(r.processes.filter((p) => p.parent === parent).map((p) => p.pid).sort()).toEqual([...workers].sort());
  });

  it('counts a Python program\'s leaked sockets by kind and peer and says the stacks are the interpreter\'s (3)', async () => {
    // The distribution's python: a self-built one with debug info (pyenv) takes strace -k over 10 s to start.
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
    const run = startFdleak(['trace', '--duration', '5s', '--json', '--', python, `${PROGRAMS}leaky.py`, '9', '5', '60']);
    const ready = await run.ready();
    const pid = Number(ready.pid);
    const port = Number(ready.port);
    pids.add(pid);
    const inodes = new Set([...fdTargets(pid).values()].map((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1]).filter(Boolean));
    const clients = tcpRows(pid).filter((x) => x.remotePort === port && inodes.has(x.inode));
    expect(clients.length).toBeGreaterThan(0);
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as TraceResult;
    const target = r.leaks.flatMap((g) => g.targets.map((t) => ({ g, t }))).find(({ t }) => t.target === `to 127.0.0.1:${port}`);
    expect(target?.t.label).toBe('TCP socket');
    expect(target?.t.count).toBe(clients.length);
    expect(target?.t.states).toEqual({ ESTABLISHED: clients.length });
    expect(target?.g.runtime).toBe('python');
    expect(target?.g.ownFrame).toBeNull();
    expect(r.runtimes.map((x) => x.runtime)).toEqual(['python']);
    expect(r.runtimes[0]!.advice).toMatch(/tracemalloc/);
    const text = traceTable(r, { color: false, version: '0', generatedAt: r.window.endedAt });
    expect(text).toContain(`${clients.length} TCP sockets to 127.0.0.1:${port}`);
    expect(text).toContain('these native frames are the interpreter\'s, not the program\'s');
  });
});
