/**
 * Acceptance of `fdleak scan --sample` and of where scan says a process lives, against real
 * processes, each leaker in its own network namespace (test/helpers/netns.ts): a worker leaking 5
 * fds a second (steady-leak.py: a pipe read end, a UDP socket bound to 127.0.0.1:0, a reopened log
 * file, in turn) beside a busy healthy one whose keep-alive connections are replaced every 2 s
 * (keepalive-churn.mjs). The true rate is measured here from /proc/<pid>/fd around each run, never
 * typed in. The box is shared: other processes may run and grow meanwhile, so the ranking is
 * checked against the growth fdleak reports for them too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runFdleak } from '../helpers/cli.js';
import { cgroupSupport, moveIntoCgroup } from '../helpers/cgroup.js';
import { startScenario, stopAll } from '../helpers/netns.js';

interface JsonFinding { rule: string; severity: string; pid: number | null; confidence?: string; message: string; evidence: Array<Record<string, string | number | null>> }
interface JsonProcess {
  pid: number; command: string; fds: number | null;
  location: { kind: string; name: string; runtime: string } | null;
  growthPerSecond: number | null;
  growth: { status: string; from: number | null; to: number | null; seconds: number | null; byKind: Record<string, number> | null } | null;
}
interface ScanDoc {
  processes: JsonProcess[];
  sample: { ms: number; restarted: unknown[]; vanished: Array<{ pid: number; command: string }> };
  findings: JsonFinding[];
  groups?: Array<{ name: string; pids: number[]; fds: number; growthPerSecond: number }>;
}

const dir = mkdtempSync(join(tmpdir(), 'fdleak-scan-sample-'));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Open fds of `pid` now, and when (ms), read from /proc/<pid>/fd. */
function openFds(pid: number): { n: number; at: number } {
  return { n: readdirSync(`/proc/${pid}/fd`).length, at: Date.now() };
}
const perSecond = (a: { n: number; at: number }, b: { n: number; at: number }): number => ((b.n - a.n) * 1000) / (b.at - a.at);
const serious = (f: JsonFinding): boolean => f.rule === 'fd-growth' && f.severity !== 'info';

function leaker(name: string) {
  return startScenario('steady-leak.py', ['--rate=5', '--limit=1024', `--log=${join(dir, `${name}.log`)}`]);
}

/** A child started here, killed at the end of the test. */
function child(cmd: string, args: string[]): number {
  const c = spawn(cmd, args, { stdio: 'ignore' });
  cleanups.push(() => c.kill('SIGKILL'));
  return c.pid!;
}

describe('scan --sample 3s', () => {
  it('--json: the leaker ranked first by --sort growth, its rate within 20% of /proc, what grows, fd-growth; the healthy one not at warning', async () => {
    const leak = await leaker('json');
    const churn = await startScenario('keepalive-churn.mjs', ['--connections=6', '--retire=2000']);
    const before = openFds(leak.pid);
    const r = await runFdleak(['scan', '--sample', '3s', '--sort', 'growth', '--json']);
    const after = openFds(leak.pid);
    await leak.stop();
    await churn.stop();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0); // scan lists; it does not judge the exit code
    const doc = JSON.parse(r.stdout) as ScanDoc;
    const truth = perSecond(before, after);

    const idx = doc.processes.findIndex((p) => p.pid === leak.pid);
    const mine = doc.processes[idx]!;
    // Ranked by growth: nothing above the leaker grew less; only a process of someone else on this shared box could be above it.
    const above = doc.processes.slice(0, idx);
    if (above.length > 0) console.warn(`ranked above the leaker by faster growth: ${above.map((p) => `${p.pid} ${p.command} ${p.growthPerSecond}/s`).join(', ')}`);
    expect(above.every((p) => p.growthPerSecond !== null && p.growthPerSecond >= mine.growthPerSecond! && p.pid !== churn.pid)).toBe(true);
    const rates = doc.processes.map((p) => p.growthPerSecond).filter((g): g is number => g !== null);
    expect(rates).toEqual([...rates].sort((a, b) => b - a));

    expect(mine.growth!.status).toBe('compared');
    expect(Math.abs(mine.growthPerSecond! - truth) / truth, `rate ${mine.growthPerSecond}/s against ${truth.toFixed(2)}/s measured`).toBeLessThan(0.2);
    // Its own two walks, start to start: 3 s apart on a quiet box; on a loaded one the first pass
    // can reach it late and the second early, so only a real interval is required here.
    expect(mine.growth!.seconds!).toBeGreaterThan(1);
    expect(Object.keys(mine.growth!.byKind!).sort()).toEqual(['file', 'pipe', 'socket']);
    expect(Object.values(mine.growth!.byKind!).every((n) => n > 0)).toBe(true);

    const growth = doc.findings.filter((f) => serious(f) && f.pid === leak.pid);
    expect(growth).toHaveLength(1);
    expect(growth[0]!.confidence).toBe('low');
    const [head, ...kinds] = growth[0]!.evidence;
    expect(Math.abs(Number(head!.perMinute) / 60 - truth) / truth).toBeLessThan(0.2);
    expect(kinds.map((k) => k.what).sort()).toEqual(['files', 'pipes', 'sockets']);
    expect(growth[0]!.message).toMatch(/the soft limit \(1024\) is reached in \d+ min at this rate/);

    expect(doc.findings.filter((f) => serious(f) && f.pid === churn.pid)).toEqual([]);
    expect(doc.processes.find((p) => p.pid === churn.pid)!.growth!.status).toBe('compared');

  });

  it('a process that exits between the two reads, and one that starts between them, are said so, not compared', async () => {
    // --sample 6s: fdleak starts and reads the box once well before 3 s (its start-up takes under
    // 1 s here, even loaded), and again 6 s after that first read began.
    const shortLived = child('sleep', ['30']);
    let late = 0;
    const timer = setTimeout(() => {
      process.kill(shortLived, 'SIGKILL');
      late = child('sleep', ['30']);
    }, 3000);
    const r = await runFdleak(['scan', '--sample', '6s', '--json']);
    clearTimeout(timer);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as ScanDoc;
    expect(doc.sample.vanished).toContainEqual({ pid: shortLived, command: 'sleep' });
    expect(doc.processes.some((p) => p.pid === shortLived)).toBe(false);
    expect(late).toBeGreaterThan(0);
    expect(doc.processes.find((p) => p.pid === late)).toMatchObject({ growthPerSecond: null, growth: { status: 'appeared', from: null } });
  });

  it('--prometheus: fdleak_process_fd_growth_per_second of the leaker within 20% of /proc', async () => {
    const leak = await leaker('prom');
    const before = openFds(leak.pid);
    const r = await runFdleak(['scan', '--sample', '3s', '--prometheus']);
    const after = openFds(leak.pid);
    await leak.stop();
    expect(r.stderr).toBe('');
    const line = r.stdout.split('\n').find((l) => l.startsWith(`fdleak_process_fd_growth_per_second{pid="${leak.pid}",`));
    expect(line).toBeDefined();
    const value = Number(line!.split(' ').at(-1));
    const truth = perSecond(before, after);
    expect(Math.abs(value - truth) / truth, `${value}/s against ${truth.toFixed(2)}/s`).toBeLessThan(0.2);
    expect(r.stdout).toContain('# TYPE fdleak_process_fd_growth_per_second gauge');
  });

  it('the table: a GROWTH/S column with the leaker\'s row first among the growers, and the fd-growth finding under it', async () => {
    const leak = await leaker('table');
    const r = await runFdleak(['scan', '--sample', '3s', '--sort', 'growth', '--top', '50']);
    await leak.stop();
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    const header = lines.find((l) => /^\s*PID\s+COMMAND/.test(l))!;
    expect(header.trim().split(/\s{2,}/)).toEqual(['PID', 'COMMAND', 'FDS', 'SOCKETS', 'ORPHANS', 'LIMIT', 'USED', 'GROWTH/S', 'LOCATION']);
    const end = header.indexOf('GROWTH/S') + 'GROWTH/S'.length;
    // The largest rate of a row's cell ("+5.0", "0", "0-+1.3" for a row of several processes).
    const rate = (l: string): number => Math.max(...(l.slice(0, end).trim().split(/\s+/).at(-1)!.match(/[+-]?\d+(?:\.\d+)?/g) ?? ['NaN']).map(Number));
    const rows = lines.slice(lines.indexOf(header) + 1, lines.findIndex((l, i) => i > lines.indexOf(header) && l.trim() === ''));
    const at = rows.findIndex((l) => l.trimStart().startsWith(`${leak.pid} `));
    expect(rate(rows[at]!)).toBeGreaterThan(4);
    // Above it only rows that grew at least as fast (someone else's process on this shared box).
    expect(rows.slice(0, at).every((l) => rate(l) >= rate(rows[at]!))).toBe(true);
    expect(r.stdout).toMatch(new RegExp(`(CRITICAL|WARNING) fd-growth {2}pid ${leak.pid} python3: fds rising \\d+/min`));
  });
});

describe('where a process lives, live', () => {
  it('a leaker moved into a docker-style cgroup: scan --json location, --group container with its growth, and watch --json', async (ctx) => {
    const s = cgroupSupport();
    if (!s.ok) ctx.skip(`no writable cgroup hierarchy: ${s.reason}`);
    const id = 'b7e1d2c3a4f5061728394a5b6c7d8e9fb7e1d2c3a4f5061728394a5b6c7d8e9f';
    const leak = await leaker('cgroup');
    const quiet = child('sleep', ['30']);
    cleanups.push(moveIntoCgroup(leak.pid, `/docker/${id}`), moveIntoCgroup(quiet, `/docker/${id}`));
    const before = openFds(leak.pid);
    const r = await runFdleak(['scan', '--sample', '2s', '--group', 'container', '--json']);
    const after = openFds(leak.pid);
    const w = await runFdleak(['watch', String(leak.pid), '--interval', '500ms', '--duration', '1s', '--json']);
    await leak.stop();
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as ScanDoc;
    for (const pid of [leak.pid, quiet]) {
      expect(doc.processes.find((p) => p.pid === pid)!.location).toMatchObject({ kind: 'container', runtime: 'docker', name: id.slice(0, 12) });
    }
    const group = doc.groups!.find((g) => g.name === id.slice(0, 12))!;
    expect(group.pids.sort((a, b) => a - b)).toEqual([leak.pid, quiet].sort((a, b) => a - b));
    const truth = perSecond(before, after);
    expect(Math.abs(group.growthPerSecond - truth) / truth, `${group.growthPerSecond}/s against ${truth.toFixed(2)}/s`).toBeLessThan(0.2);
    const fds = doc.processes.filter((p) => group.pids.includes(p.pid)).reduce((n, p) => n + p.fds!, 0);
    expect(group.fds).toBe(fds);
    const watched = JSON.parse(w.stdout) as { process: { location: { kind: string; name: string } | null } };
    expect(watched.process.location).toMatchObject({ kind: 'container', name: id.slice(0, 12) });
  });
});
