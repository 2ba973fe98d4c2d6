/**
 * Acceptance of `fdleak watch`, `diagnose --sample`, `snapshot` + `diff` against real processes, each
 * in its own network namespace (test/helpers/netns.ts): a worker leaking 5 fds a second
 * (steady-leak.py: a pipe read end, a UDP socket bound to 127.0.0.1:0, a reopened log file, in turn),
 * a busy healthy process whose keep-alive connections are replaced every 2 s (keepalive-churn.mjs),
 * and a pool that fills and stays full (pool-fill.mjs). The true rate is measured here from
 * /proc/<pid>/fd around each run, never typed in.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runFdleak } from '../helpers/cli.js';
import { startScenario, stopAll } from '../helpers/netns.js';

interface JsonFinding {
  rule: string;
  severity: 'critical' | 'warning' | 'info';
  message: string;
  evidence: Array<Record<string, string | number | null>>;
}

const dir = mkdtempSync(join(tmpdir(), 'fdleak-time-'));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Open fds of `pid` now, and when (ms), read from /proc/<pid>/fd. */
function openFds(pid: number): { n: number; at: number } {
  return { n: readdirSync(`/proc/${pid}/fd`).length, at: Date.now() };
}

/** fds per minute between two readings. */
const perMinute = (a: { n: number; at: number }, b: { n: number; at: number }): number => ((b.n - a.n) * 60_000) / (b.at - a.at);

const serious = (f: JsonFinding): boolean => f.rule === 'fd-growth' && f.severity !== 'info';

/** The fd-growth finding: warning or above, the rate within 20% of `truth`, the three kinds, a time to the limit. */
function expectLeak(findings: JsonFinding[], truth: number): void {
  const growth = findings.filter(serious);
  expect(growth).toHaveLength(1);
  const [head, ...rows] = growth[0]!.evidence;
  const rate = Number(head!.perMinute);
  expect(Math.abs(rate - truth) / truth, `rate ${rate}/min against ${truth.toFixed(1)}/min measured`).toBeLessThan(0.2);
  expect(rows.slice(0, 3).map((r) => r.what).sort()).toEqual(['files', 'pipes', 'sockets']);
  expect(Number(head!.minutesToLimit)).toBeGreaterThan(0);
  expect(growth[0]!.message).toMatch(/the soft limit \(1024\) is reached in \d+ min at this rate/);
}

async function leaker() {
  return startScenario('steady-leak.py', ['--rate=5', '--limit=1024', `--log=${join(dir, 'worker.log')}`]);
}

describe('a worker leaking 5 fds a second', () => {
  it('watch --interval 1s --duration 5s: fd-growth, the rate, the kinds, the time left; ends within 6 s', async () => {
    const s = await leaker();
    const before = openFds(s.pid);
    const started = performance.now();
    const r = await runFdleak(['watch', String(s.pid), '--interval', '1s', '--duration', '5s', '--json']);
    const wall = performance.now() - started;
    const after = openFds(s.pid);
    await s.stop();
    expect(r.stderr).toBe('');
    expect(wall).toBeLessThan(6000);
    const doc = JSON.parse(r.stdout) as { schema: string; ended: string; samples: Array<{ fds: number }>; findings: JsonFinding[] };
    expect([doc.schema, doc.ended]).toEqual(['fdleak/watch@1', 'duration']);
    // Samples on whole seconds from the command's start, the first as soon as it is up: 6 (5 if start-up took over 1 s).
    expect(doc.samples.length).toBeGreaterThanOrEqual(5);
    expect(doc.samples.length).toBeLessThanOrEqual(6);
    expectLeak(doc.findings, perMinute(before, after));
    expect(r.code).toBe(1);
  });

  it('watch prints a plain line per sample when stdout is not a terminal, then the summary with a sparkline', async () => {
    const s = await leaker();
    const r = await runFdleak(['watch', String(s.pid), '--interval', '500ms', '--duration', '3s']);
    await s.stop();
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 5).map((l) => /^\d\d:\d\d:\d\d {2}fds \d+ {2}/.test(l))).toEqual([true, true, true, true, true]);
    expect(r.stdout).not.toContain('\r');
    expect(r.stdout).toMatch(/^fds \d+ -> \d+ \(\+\d+\) {2}[▁▂▃▄▅▆▇█]{5,7} {2}soft limit 1024$/m);
    expect(r.stdout).toContain('fd-growth');
  });

  it('watch rewrites its line in place on a terminal', async (ctx) => {
    const s = await leaker();
    const script = spawn('script', ['-qfec', `${process.execPath} bin/fdleak.js watch ${s.pid} --interval 500ms --duration 2500ms`, '/dev/null'],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    script.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const code = await new Promise<number | null>((resolve) => { script.once('close', resolve); script.once('error', () => resolve(-1)); });
    await s.stop();
    if (code === -1) ctx.skip('no `script` command to give fdleak a terminal');
    // Each sample rewrites the line: as many rewrites as sample lines, and no line feed between them.
    const rewrites = out.split('\r\x1b[K').length - 1;
    expect(rewrites).toBeGreaterThanOrEqual(4);
    expect(out.match(/\d\d:\d\d:\d\d {2}fds \d+/g)).toHaveLength(rewrites);
    expect(out.slice(0, out.lastIndexOf('\r\x1b[K'))).not.toContain('\n');
    expect(out).toContain('fd-growth');
  });

  it('diagnose --sample 3s: fd-growth joins the other rules', async () => {
    const s = await leaker();
    const before = openFds(s.pid);
    const r = await runFdleak(['diagnose', String(s.pid), '--sample', '3s', '--json']);
    const after = openFds(s.pid);
    await s.stop();
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { schema: string; findings: JsonFinding[] };
    expect(doc.schema).toBe('fdleak/diagnose@1');
    expectLeak(doc.findings, perMinute(before, after));
    expect(r.code).toBe(1);
  });

  it('diff of two snapshots 3 s apart: what appeared, and fd-growth', async () => {
    const s = await leaker();
    const before = openFds(s.pid);
    expect((await runFdleak(['snapshot', String(s.pid), '-o', join(dir, 'a.json')])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await runFdleak(['snapshot', String(s.pid), '-o', join(dir, 'b.json')])).code).toBe(0);
    const after = openFds(s.pid);
    await s.stop();
    const r = await runFdleak(['diff', join(dir, 'a.json'), join(dir, 'b.json'), '--json']);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { processes: Array<{ status: string; appeared: Array<{ kind: string; group: string }> }>; findings: JsonFinding[] };
    expect(doc.processes.map((p) => p.status)).toEqual(['compared']);
    expect(new Set(doc.processes[0]!.appeared.map((g) => g.kind))).toEqual(new Set(['pipe', 'socket', 'file']));
    expect(doc.processes[0]!.appeared.map((g) => g.group)).toContain(join(dir, 'worker.log'));
    expectLeak(doc.findings, perMinute(before, after));
    expect(r.code).toBe(1);
    const text = await runFdleak(['diff', join(dir, 'a.json'), join(dir, 'b.json')]);
    expect(text.stdout).toMatch(/appeared \(\d+\):/);
  });

  it('Ctrl-C (SIGINT): the summary is printed and the exit code follows the findings; no child left behind', async () => {
    const s = await leaker();
    for (const json of [false, true]) {
      const child = spawn(process.execPath, ['bin/fdleak.js', 'watch', String(s.pid), '--interval', '500ms', '--duration', '1m', ...(json ? ['--json'] : [])],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
      await new Promise((r) => setTimeout(r, 3000));
      const sent = performance.now();
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(performance.now() - sent).toBeLessThan(1500);
      expect(err).toBe('');
      expect(code).toBe(1);
      if (json) expect((JSON.parse(out) as { ended: string }).ended).toBe('interrupted');
      else expect(out).toMatch(/samples over [\d.]+ s, every 500 ms; interrupted/);
      // Each sample of a process in another network namespace reads its sysctls through nsenter: none is left running.
      const nsenters = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && cmdlineOf(p).includes(`--net=/proc/${s.pid}/ns/net`));
      expect(nsenters).toEqual([]);
    }
    await s.stop();
  });

  it('a watched process that exits is reported, not a crash', async () => {
    const s = await leaker();
    setTimeout(() => void s.stop(), 1700);
    const r = await runFdleak(['watch', String(s.pid), '--interval', '500ms', '--duration', '10s']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`pid ${s.pid} exited after \\d+ samples`));
    expect(r.code === 0 || r.code === 1).toBe(true);
  });
});

function cmdlineOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
  } catch {
    return ''; // gone meanwhile
  }
}

describe('no fd-growth at warning or above', () => {
  it('a busy process whose keep-alive connections are replaced every 2 s: watch, diagnose --sample, diff', async () => {
    const s = await startScenario('keepalive-churn.mjs', ['--connections=6', '--retire=2000']);
    await runFdleak(['snapshot', String(s.pid), '-o', join(dir, 'churn-a.json')]);
    const w = await runFdleak(['watch', String(s.pid), '--interval', '1s', '--duration', '5s', '--json']);
    const d = await runFdleak(['diagnose', String(s.pid), '--sample', '3s', '--json']);
    await runFdleak(['snapshot', String(s.pid), '-o', join(dir, 'churn-b.json')]);
    await s.stop();
    // Every connection of the first snapshot was replaced by the second (about 9 s later): a diff with changes, no growth.
    const diff = JSON.parse((await runFdleak(['diff', join(dir, 'churn-a.json'), join(dir, 'churn-b.json'), '--json'])).stdout) as
      { processes: Array<{ appeared: Array<{ count: number }> }>; findings: JsonFinding[] };
    expect(diff.processes[0]!.appeared.reduce((n, g) => n + g.count, 0)).toBeGreaterThanOrEqual(12);
    expect(diff.findings.filter(serious)).toEqual([]);
    const watched = JSON.parse(w.stdout) as { samples: Array<{ fds: number }>; findings: JsonFinding[] };
    expect(watched.samples.length).toBeGreaterThanOrEqual(5);
    expect(watched.findings.filter(serious)).toEqual([]);
    expect((JSON.parse(d.stdout) as { findings: JsonFinding[] }).findings.filter(serious)).toEqual([]);
  });

  it('a pool that fills and levels off: the count rose during the watch, and it is not called a leak', async () => {
    const s = await startScenario('pool-fill.mjs', ['--size=12', '--rate=6', '--delay=1000']);
    const w = await runFdleak(['watch', String(s.pid), '--interval', '500ms', '--duration', '6s', '--json']);
    await s.stop();
    const doc = JSON.parse(w.stdout) as { samples: Array<{ fds: number }>; findings: JsonFinding[] };
    const counts = doc.samples.map((x) => x.fds);
    expect(counts[counts.length - 1]! - counts[0]!).toBeGreaterThanOrEqual(20); // 12 connections, both ends
    expect(doc.findings.filter(serious)).toEqual([]);
    expect(doc.findings.filter((f) => f.rule === 'fd-growth').map((f) => f.evidence[0]!.shape)).toEqual(['levelled off']);
  });
});
