/**
 * The start-up snapshot (src/cli/snapshot.ts, scripts/build-snapshot.mjs, bin/fdleak.js's launcher
 * line): run as a command, `diagnose` starts from dist/diagnose.blob and `scan` and `analyze` from
 * dist/fdleak.blob (each with the V8 flags written beside it, dist/<blob>.flags), and must
 * answer exactly as the ES modules do (`node bin/fdleak.js`, which never uses the blob), on a live
 * leaky process in a namespace of its own, a live scan and a capture; what the snapshot was built
 * with (the build's terminal and environment) must not leak into a run; and the launcher must fall
 * back to the ES modules where node would refuse the blob (NODE_OPTIONS, a node newer than it).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startScenario, stopAll } from '../helpers/netns.js';

const BIN = join(ROOT, 'bin/fdleak.js');
const BLOB = join(ROOT, 'dist/fdleak.blob');
const DIAGNOSE_BLOB = join(ROOT, 'dist/diagnose.blob');
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' };
const SNAPSHOT_MARK = '(start-up snapshot)';
/** Whether this node can make one at all (Node >= 18.20 with --build-snapshot). */
const CAN_SNAPSHOT = typeof startupSnapshot?.isBuildingSnapshot === 'function';

const dirs: string[] = [];
afterAll(async () => {
  await stopAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The launcher run as a command (the snapshot where it applies), or by node (the ES modules always). */
function run(how: 'command' | 'node', args: string[], env: Record<string, string> = ENV, bin = BIN) {
  const [cmd, argv] = how === 'command' ? [bin, args] : [process.execPath, [bin, ...args]];
  return spawnSync(cmd, argv, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

/** A JSON report without what differs between two reads of the same moment (when, how long). */
const stable = (out: string) => JSON.stringify(JSON.parse(out), (k, v) => (k === 'takenAt' || k === 'generatedAt' ? null : v));

describe('start-up snapshot', () => {
  it('the build made it, and the launcher runs diagnose from it (--debug says so), not `node bin/fdleak.js`', async (ctx) => {
    if (!CAN_SNAPSHOT) ctx.skip(`node ${process.version} has no startup snapshot API: fdleak loads its ES modules`);
    for (const blob of [BLOB, DIAGNOSE_BLOB]) {
      expect(existsSync(blob), `npm run build makes ${blob} on this node`).toBe(true);
      expect(existsSync(`${blob}.flags`), `and the V8 flags it was made with beside it`).toBe(true);
    }
    // diagnose's blob is made (and so must be run) with a young generation of its own size.
    expect(readFileSync(`${DIAGNOSE_BLOB}.flags`, 'utf8')).toMatch(/--max-semi-space-size=\d+/);
    expect(readFileSync(join(ROOT, 'dist/snapshot.path'), 'utf8').trim()).toBe(join(ROOT, 'dist/cli/snapshot.cjs'));
    const leaker = await startScenario('socket-mix.py', ['--pairs=10', '--client-cw=5', '--server-cw=5', '--half=4', '--unbound=5']);
    const args = ['diagnose', String(leaker.pid), '--json', '--debug'];
    const fromBlob = run('command', args);
    const fromModules = run('node', args);
    expect(fromBlob.stderr.split('\n')[0]).toContain(SNAPSHOT_MARK);
    expect(fromModules.stderr.split('\n')[0]).not.toContain(SNAPSHOT_MARK);
    // Same exit code and the same report (findings at warning or worse: exit 1), the process unchanged in between.
    expect(fromBlob.status).toBe(fromModules.status);
    expect(fromBlob.status).toBe(1);
    expect(stable(fromBlob.stdout)).toBe(stable(fromModules.stdout));
    const report = JSON.parse(fromBlob.stdout) as { findings: Array<{ rule: string }> };
    expect(report.findings.map((f) => f.rule)).toContain('close-wait');
  });

  it('scan and analyze run from it too, with the answers of the ES modules', (ctx) => {
    if (!existsSync(BLOB)) ctx.skip('no dist/fdleak.blob (see the test above)');
    const scan = run('command', ['scan', '--json', '--debug']);
    expect(scan.status, scan.stderr).toBeLessThanOrEqual(1);
    expect(scan.stderr.split('\n')[0]).toContain(SNAPSHOT_MARK);
    const processes = (JSON.parse(scan.stdout) as { processes: Array<{ pid: number }> }).processes;
    expect(processes.length).toBeGreaterThan(1);
    for (const capture of ['fixtures/lsof/close-wait-filter.txt', 'fixtures/lsof/sockets-files.txt', 'fixtures/lsof/tcp-udp-queues.txt']) {
      const a = run('command', ['analyze', capture, '--json']);
      const b = run('node', ['analyze', capture, '--json']);
      expect(a.status, capture).toBe(b.status);
      expect(stable(a.stdout), capture).toBe(stable(b.stdout));
    }
  });

  it('reads the terminal and the environment of the run, not of the build', (ctx) => {
    if (!existsSync(BLOB)) ctx.skip('no dist/fdleak.blob');
    const capture = 'fixtures/lsof/close-wait-filter.txt';
    const plain = run('command', ['analyze', capture]);
    const forced = run('command', ['analyze', capture], { PATH: ENV.PATH, FORCE_COLOR: '1' });
    // eslint-disable-next-line no-control-regex
    expect(plain.stdout).not.toMatch(/\x1b\[/);
    // eslint-disable-next-line no-control-regex
    expect(forced.stdout).toMatch(/\x1b\[/);
    // stdin is the run's: `analyze -` reads what is piped in now.
    const piped = spawnSync(BIN, ['analyze', '-', '--json'], { cwd: ROOT, env: ENV, input: readFileSync(join(ROOT, capture)), encoding: 'utf8' });
    const fromFile = run('node', ['analyze', capture, '--json']);
    expect(piped.status).toBe(fromFile.status);
    expect((JSON.parse(piped.stdout) as { findings: unknown[] }).findings).toEqual((JSON.parse(fromFile.stdout) as { findings: unknown[] }).findings);
  });

  it('is not used where node would refuse it: NODE_OPTIONS set, a node newer than the blob, its flags unknown', (ctx) => {
    if (!existsSync(DIAGNOSE_BLOB)) ctx.skip('no dist/diagnose.blob');
    const sleeper = spawnSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
    const pid = sleeper.stdout.trim();
    try {
      // --max-old-space-size changes V8's flags: node would exit 14 with no output from the blob.
      const withOptions = run('command', ['diagnose', pid, '--json', '--debug'], { ...ENV, NODE_OPTIONS: '--max-old-space-size=512' });
      expect(withOptions.status, withOptions.stderr).toBe(0);
      expect(withOptions.stderr).not.toContain(SNAPSHOT_MARK);
      // A copy of the package whose blob is older than its node: the launcher loads the ES modules.
      const copy = mkdtempSync(join(tmpdir(), 'fdleak-snapshot-'));
      dirs.push(copy);
      for (const d of ['bin', 'dist']) cpSync(join(ROOT, d), join(copy, d), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
      /** `fdleak diagnose` of the sleeper, run as a command from the copy. */
      const fromCopy = () => run('command', ['diagnose', pid, '--json', '--debug'], ENV, join(copy, 'bin/fdleak.js'));
      const fresh = fromCopy();
      expect(fresh.stderr).toContain(SNAPSHOT_MARK);
      utimesSync(join(copy, 'dist/diagnose.blob'), 0, 0);
      const stale = fromCopy();
      expect(stale.status, stale.stderr).toBe(0);
      expect(stale.stderr).not.toContain(SNAPSHOT_MARK);
      expect(stable(stale.stdout)).toBe(stable(fresh.stdout));
      // Fresh again, it is used again; without the flags it was made with, it is not (exit 14 otherwise).
      const now = new Date();
      utimesSync(join(copy, 'dist/diagnose.blob'), now, now);
      expect(fromCopy().stderr).toContain(SNAPSHOT_MARK);
      rmSync(join(copy, 'dist/diagnose.blob.flags'));
      const noFlags = fromCopy();
      expect(noFlags.status, noFlags.stderr).toBe(0);
      expect(noFlags.stderr).not.toContain(SNAPSHOT_MARK);
    } finally {
      process.kill(Number(pid), 'SIGKILL');
    }
  });
});
