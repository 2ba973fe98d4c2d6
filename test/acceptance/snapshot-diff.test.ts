/**
 * `fdleak snapshot` and `fdleak diff` as a user runs them: several pids in one file, a snapshot
 * against itself, two different processes, a pid reused by another process (made real in a private
 * pid namespace, where ns_last_pid hands the same pid out again), and files diff must refuse.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSnapshotFile } from '../../src/store/snapshot-file.js';
import { ROOT, runFdleak } from '../helpers/cli.js';
import { fdTargets } from '../helpers/proc.js';
import { startScenario, stopAll } from '../helpers/netns.js';

const dir = mkdtempSync(join(tmpdir(), 'fdleak-diff-'));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Exit 2 and exactly one line on stderr, no stack. */
function expectOneLine(r: { code: number | null; stdout: string; stderr: string }): string {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n') && r.stderr.split('\n').length).toBe(2);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr.trimEnd().replace(dir, '<dir>');
}

describe('snapshot and diff', () => {
  it('several pids in one file; a snapshot against itself: no change', async () => {
    const a = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=3']);
    const b = await startScenario('keepalive-churn.mjs', ['--connections=2', '--retire=60000']);
    const file = join(dir, 'two.json');
    const r = await runFdleak(['snapshot', String(a.pid), String(b.pid), '-o', file]);
    const truth = [fdTargets(a.pid).size, fdTargets(b.pid).size];
    await Promise.all([a.stop(), b.stop()]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
    const snapshot = readSnapshotFile(file);
    expect(snapshot.schema).toBe('fdleak/snapshot@1');
    expect(snapshot.processes.map((p) => [p.pid, p.fdCount])).toEqual([[a.pid, truth[0]], [b.pid, truth[1]]]);
    expect(snapshot.processes.every((p) => p.startTime !== null && p.startTime > 0)).toBe(true);
    const text = await runFdleak(['diff', file, file]);
    expect(text.code).toBe(0);
    expect(text.stdout.match(/no change: the same fds in both/g)).toHaveLength(2);
    const json = JSON.parse((await runFdleak(['diff', file, file, '--json'])).stdout) as { processes: Array<{ change: number; appeared: unknown[]; vanished: unknown[] }>; findings: unknown[] };
    expect(json.processes.map((p) => [p.change, p.appeared, p.vanished])).toEqual([[0, [], []], [0, [], []]]);
    expect(json.findings).toEqual([]);
  });

  it('snapshot to stdout ("-" or no -o) is the same document', async () => {
    const a = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=1']);
    const r = await runFdleak(['snapshot', String(a.pid)]);
    const dash = await runFdleak(['snapshot', String(a.pid), '-o', '-']);
    await a.stop();
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { schema: string; processes: Array<{ pid: number }> }).processes.map((p) => p.pid)).toEqual([a.pid]);
    expect(dash.code).toBe(0);
    expect((JSON.parse(dash.stdout) as { processes: Array<{ pid: number }> }).processes.map((p) => p.pid)).toEqual([a.pid]);
  });

  it('two different processes: said plainly', async () => {
    const a = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=1']);
    const b = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=1']);
    await runFdleak(['snapshot', String(a.pid), '-o', join(dir, 'pa.json')]);
    await runFdleak(['snapshot', String(b.pid), '-o', join(dir, 'pb.json')]);
    await Promise.all([a.stop(), b.stop()]);
    const r = await runFdleak(['diff', join(dir, 'pa.json'), join(dir, 'pb.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`the snapshots have no process in common: a holds pid ${a.pid} node; b holds pid ${b.pid} node`);
  });

  it('a pid reused by another process: said plainly, not compared', async (ctx) => {
    // In a private pid namespace: snapshot a sleep, kill it, set ns_last_pid so the next fork gets its pid.
    const script = [
      'sleep 30 & A=$!', `node bin/fdleak.js snapshot $A -o ${dir}/r1.json`, 'kill $A; wait $A 2>/dev/null',
      'echo $((A-1)) > /proc/sys/kernel/ns_last_pid', 'sleep 30 & B=$!', 'echo "$A $B"',
      `node bin/fdleak.js snapshot $B -o ${dir}/r2.json`, `node bin/fdleak.js diff ${dir}/r1.json ${dir}/r2.json`, 'echo "exit $?"', 'kill $B',
    ].join('\n');
    const r = spawnSync('unshare', ['-p', '-f', '--mount-proc', 'sh', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' } });
    if (r.status !== 0 && /unshare/.test(r.stderr)) ctx.skip(`no private pid namespace: ${r.stderr.trim().split('\n')[0]}`);
    const [pids, ...rest] = r.stdout.split('\n');
    const [a, b] = pids!.split(' ');
    if (a !== b) ctx.skip(`ns_last_pid did not hand out pid ${a} again (got ${b})`);
    const out = rest.join('\n');
    expect(out).toMatch(new RegExp(`^pid ${a}: not the same process \\(restarted, or the pid reused\\): sleep started at tick \\d+ in a, sleep started at tick \\d+ in b; not compared$`, 'm'));
    expect(out).toContain('exit 0');
    const [s1, s2] = [readSnapshotFile(`${dir}/r1.json`), readSnapshotFile(`${dir}/r2.json`)];
    expect(s1.processes[0]!.pid).toBe(s2.processes[0]!.pid);
    expect(s1.processes[0]!.startTime).not.toBe(s2.processes[0]!.startTime);
  });

  it('refuses a damaged, truncated or newer-schema file in one line naming it', async () => {
    const a = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=1']);
    const good = join(dir, 'good.json');
    await runFdleak(['snapshot', String(a.pid), '-o', good]);
    await a.stop();
    const text = readFileSync(good, 'utf8');
    const bad = (name: string, body: string): string => { writeFileSync(join(dir, name), body); return join(dir, name); };
    expect(expectOneLine(await runFdleak(['diff', good, bad('cut.json', text.slice(0, 300))])))
      .toMatch(/^fdleak: <dir>\/cut\.json:\d+: truncated: the JSON ends before the snapshot does \(300 bytes\)$/);
    expect(expectOneLine(await runFdleak(['diff', bad('junk.json', text.replace('"kind": "live"', '"kind": live')), good])))
      .toMatch(/^fdleak: <dir>\/junk\.json:\d+: damaged: not valid JSON/);
    expect(expectOneLine(await runFdleak(['diff', good, bad('new.json', text.replace('fdleak/snapshot@1', 'fdleak/snapshot@2'))])))
      .toBe('fdleak: <dir>/new.json: schema fdleak/snapshot@2 is newer than this fdleak reads (fdleak/snapshot@1): upgrade fdleak');
  });

  it('paths with terminal escapes in them are shown escaped by diff and watch', async () => {
    const s = await startScenario('steady-leak.py', ['--rate=10', `--log=${dir}/\x1b]0;x\x07.log`]);
    await runFdleak(['snapshot', String(s.pid), '-o', join(dir, 'e1.json')]);
    await new Promise((r) => setTimeout(r, 1500));
    await runFdleak(['snapshot', String(s.pid), '-o', join(dir, 'e2.json')]);
    const watch = await runFdleak(['watch', String(s.pid), '--interval', '500ms', '--duration', '2s']);
    await s.stop();
    const diff = await runFdleak(['diff', join(dir, 'e1.json'), join(dir, 'e2.json')]);
    for (const out of [diff.stdout, watch.stdout]) {
      expect(out).toContain(`${dir}/\\x1b]0;x\\x07.log`);
      expect(out).not.toMatch(/[\x07\x1b]/);
    }
    const json = await runFdleak(['diff', join(dir, 'e1.json'), join(dir, 'e2.json'), '--json']);
    expect(json.stdout).toContain('\\u001b]0;x\\u0007.log');
  });

  it('bad durations exit 2 with one line', async () => {
    expect(expectOneLine(await runFdleak(['watch', '1', '--interval', '2x']))).toBe('fdleak: --interval: expected a duration such as 500ms, 2s or 1m, found "2x"');
    expect(expectOneLine(await runFdleak(['watch', '1', '--duration', '-1s']))).toBe('fdleak: --duration: expected a duration such as 500ms, 2s or 1m, found "-1s"');
    expect(expectOneLine(await runFdleak(['diagnose', '1', '--sample', '2x']))).toBe('fdleak: --sample: expected a duration such as 500ms, 2s or 1m, found "2x"');
    expect(expectOneLine(await runFdleak(['diagnose', '1', '--sample=-1s']))).toBe('fdleak: --sample: expected a duration such as 500ms, 2s or 1m, found "-1s"');
  });
});
