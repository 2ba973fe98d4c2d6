/**
 * Acceptance of the fd kinds that are not sockets (issue 15) against real processes: a leaker
 * (test/helpers/leakers/kinds.py) holding deleted files, one path opened many times, and inotify
 * instances near a max_user_instances it lowered in its own user namespace (the host's limit is
 * never touched); a process with a few ordinary files; a process moved into a Kubernetes-style
 * cgroup. Expected numbers are read from /proc at the same moment (readlink and stat through
 * /proc/<pid>/fd/N, fdinfo, the user namespace's sysctl through nsenter), never typed in. The same
 * leaker is captured with lsof and analysed. `--set` and config files change the verdicts.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runFdleak } from '../helpers/cli.js';
import { cgroupSupport, moveIntoCgroup } from '../helpers/cgroup.js';
import { startScenario, stopAll, type Scenario } from '../helpers/netns.js';
import { fdTargets } from '../helpers/proc.js';

interface Finding { rule: string; severity: string; count: number; message: string; evidence: Array<Record<string, unknown>> }
interface Doc {
  process: { pid: number; location: null | Record<string, unknown> };
  fds: { byKind: Record<string, number>; anonByType: Record<string, number> };
  findings: Finding[];
}
const KINDS = ['deleted-files', 'repeated-opens', 'inotify-limit'];

/** `node bin/fdleak.js ...` in `cwd` (default a fresh empty directory: no fdleak.config.json around). */
async function fdleakIn(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/fdleak.js'), ...args], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Deleted files of pid above fd 2 as /proc says now: count, st_size and st_blocks * 512 summed. */
function deletedTruth(pid: number): { files: number; size: number; disk: number } {
  let files = 0;
  let size = 0;
  let disk = 0;
  for (const [fd, target] of fdTargets(pid)) {
    if (!target.endsWith(' (deleted)') || target.startsWith('/memfd:')) continue;
    const st = statSync(`/proc/${pid}/fd/${fd}`);
    files++;
    size += st.size;
    disk += st.blocks * 512;
  }
  return { files, size, disk };
}

const userns = spawnSync('unshare', ['-U', '-r', 'true'], { timeout: 5000 });
const usernsReason = userns.status === 0 ? null : `cannot create a user namespace (unshare -U -r: ${String(userns.stderr ?? userns.error?.message ?? '').trim() || `exit ${userns.status}`})`;

let leaky: Scenario;
let plain: Scenario;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fdleak-kinds-test-'));
  const inotify = usernsReason === null ? ['--userns-max-instances=30', '--inotify=25', '--watches=2'] : [];
  leaky = await startScenario('kinds.py', ['--deleted=40', '--deleted-size=100000', '--repeat=250', '--eventfd=20', '--epoll=15', ...inotify]);
  // A live file whose name ends in " (deleted)", open 3 times: not a deleted file (st_nlink 1).
  plain = await startScenario('kinds.py', ['--files=5', '--repeat=3', `--repeat-path=${join(work, 'notes (deleted)')}`]);
}, 60_000);

afterAll(async () => {
  await stopAll();
  // The leakers are killed (SIGKILL): their own temporary directories are removed here.
  for (const s of [leaky, plain]) if (s?.ready.dir !== undefined) rmSync(String(s.ready.dir), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('fdleak diagnose on processes holding deleted files, repeated opens, inotify instances', () => {
  it('fires deleted-files with the count and bytes stat gives through /proc/<pid>/fd', async () => {
    const truth = deletedTruth(leaky.pid);
    expect(truth.files).toBe(40);
    const r = await fdleakIn(work, ['diagnose', String(leaky.pid), '--json']);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as Doc;
    const f = doc.findings.find((x) => x.rule === 'deleted-files')!;
    expect([f.count, f.evidence.reduce((s, e) => s + Number(e.bytes), 0), f.evidence.reduce((s, e) => s + Number(e.size), 0)]).toEqual([truth.files, truth.disk, truth.size]);
    expect(f.evidence.map((e) => [String(e.directory).replace(/.*\//, ''), e.files])).toEqual([['logs', 20], ['tmp', 20]]);
  });

  it('fires repeated-opens with the fds /proc links to the path, and counts anon inodes by type', async () => {
    const targets = [...fdTargets(leaky.pid)].filter(([fd]) => fd > 2).map(([, t]) => t);
    const path = String(leaky.ready.repeatPath);
    const doc = JSON.parse((await fdleakIn(work, ['diagnose', String(leaky.pid), '--json'])).stdout) as Doc;
    const f = doc.findings.find((x) => x.rule === 'repeated-opens')!;
    expect([f.count, f.evidence]).toEqual([targets.filter((t) => t === path).length, [{ target: path, kind: 'file', fds: 250 }]]);
    const anon = (type: string): number => targets.filter((t) => t === `anon_inode:[${type}]` || t === `anon_inode:${type}`).length;
    expect(doc.fds.anonByType).toMatchObject({ eventfd: anon('eventfd'), eventpoll: anon('eventpoll') });
    expect([doc.fds.anonByType.eventfd, doc.fds.anonByType.eventpoll]).toEqual([20, 15]);
  });

  it('fires inotify-limit against the max_user_instances of the process\'s user namespace', async (ctx) => {
    if (usernsReason !== null) { console.warn(`skipped: ${usernsReason}`); ctx.skip(); return; }
    const pid = leaky.pid;
    const fds = [...fdTargets(pid)].filter(([, t]) => t === 'anon_inode:inotify').map(([fd]) => fd);
    const watches = fds.reduce((s, fd) => s + readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length, 0);
    const limit = Number(execFileSync('nsenter', [`--user=/proc/${pid}/ns/user`, 'cat', '/proc/sys/user/max_inotify_instances'], { encoding: 'utf8' }).trim());
    expect([fds.length, watches, limit]).toEqual([25, 50, 30]);
    const r = await fdleakIn(work, ['diagnose', String(pid), '--json']);
    const doc = JSON.parse(r.stdout) as Doc;
    const f = doc.findings.find((x) => x.rule === 'inotify-limit')!;
    expect([f.count, f.evidence[0]!.watches, f.evidence[0]!.userInstances, f.evidence[0]!.maxUserInstances]).toEqual([fds.length, watches, fds.length, limit]);
    expect(doc.fds.anonByType.inotify).toBe(fds.length);
    expect(r.code).toBe(1); // warnings at the default --fail-on
    // The host's own limit was never touched.
    expect(Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'))).toBeGreaterThan(limit);
  });

  it('says nothing of a process with a few ordinary files', async () => {
    const targets = [...fdTargets(plain.pid)].filter(([fd]) => fd > 2);
    expect(targets.length).toBeGreaterThanOrEqual(5);
    expect(targets.filter(([, t]) => t.endsWith(' (deleted)')).length).toBe(3);
    const r = await fdleakIn(work, ['diagnose', String(plain.pid), '--json']);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.findings.filter((f) => KINDS.includes(f.rule))).toEqual([]);
    // Even at a threshold of 1 file: its name ends in " (deleted)" but stat says it has a link.
    const strict = JSON.parse((await fdleakIn(work, ['diagnose', String(plain.pid), '--json', '--set', 'deleted-files.min=1'])).stdout) as Doc;
    expect(strict.findings.filter((f) => f.rule === 'deleted-files')).toEqual([]);
  });
});

describe('where a process lives', () => {
  it('diagnose and --json name the Kubernetes container a process was moved into', async (ctx) => {
    const s = cgroupSupport();
    if (!s.ok) { console.warn(`skipped: ${s.reason}`); ctx.skip(); return; }
    const id = 'c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc';
    const pod = '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
    const undo = moveIntoCgroup(plain.pid, `/kubepods/burstable/pod${pod}/${id}`);
    try {
      expect(readFileSync(`/proc/${plain.pid}/cgroup`, 'utf8')).toContain(`/pod${pod}/${id}`);
      const doc = JSON.parse((await fdleakIn(work, ['diagnose', String(plain.pid), '--json'])).stdout) as Doc;
      expect(doc.process.location).toMatchObject({ kind: 'container', runtime: 'kubernetes', id, name: id.slice(0, 12), pod });
      const table = await fdleakIn(work, ['diagnose', String(plain.pid)]);
      expect(table.stdout).toContain(`lives in: container ${id.slice(0, 12)} (kubernetes, pod ${pod})`);
    } finally {
      undo();
    }
  });
});

describe('fdleak analyze on lsof captures of the same process', () => {
  it('finds the deleted files (lsof -nP -p and lsof +L1) and the repeated opens', async () => {
    const truth = deletedTruth(leaky.pid);
    const listing = join(work, 'lsof.txt');
    const l1 = join(work, 'lsof-L1.txt');
    writeFileSync(listing, execFileSync('lsof', ['-nP', '-p', String(leaky.pid)], { encoding: 'utf8' }));
    writeFileSync(l1, execFileSync('lsof', ['-nP', '-a', '+L1', '-p', String(leaky.pid)], { encoding: 'utf8' }));
    for (const file of [listing, l1]) {
      const r = await fdleakIn(work, ['analyze', file, '--json']);
      expect(r.stderr).toBe('');
      const doc = JSON.parse(r.stdout) as { findings: Finding[] };
      const f = doc.findings.find((x) => x.rule === 'deleted-files' && x.message.includes('deleted'))!;
      // lsof gives SIZE/OFF (st_size), no blocks.
      expect([f.count, f.evidence.reduce((s, e) => s + Number(e.bytes), 0)]).toEqual([truth.files, truth.size]);
    }
    const doc = JSON.parse((await fdleakIn(work, ['analyze', listing, '--json'])).stdout) as { findings: Finding[] };
    const f = doc.findings.find((x) => x.rule === 'repeated-opens')!;
    expect([f.count, f.evidence[0]]).toEqual([250, { target: String(leaky.ready.repeatPath), kind: 'file', fds: 250 }]);
  });
});

describe('thresholds a user sets', () => {
  it('--set raises a threshold above the count and silences the rule; off turns it off', async () => {
    const pid = String(leaky.pid);
    const fired = (doc: Doc): string[] => doc.findings.map((f) => f.rule).filter((r) => KINDS.includes(r)).sort();
    const base = fired(JSON.parse((await fdleakIn(work, ['diagnose', pid, '--json'])).stdout) as Doc);
    expect(base).toContain('repeated-opens');
    const raised = JSON.parse((await fdleakIn(work, ['diagnose', pid, '--json', '--set', 'repeated-opens.min=251'])).stdout) as Doc;
    expect(fired(raised)).toEqual(base.filter((r) => r !== 'repeated-opens'));
    const off = JSON.parse((await fdleakIn(work, ['diagnose', pid, '--json', '--set', 'deleted-files=off', '--set', 'repeated-opens.min=250'])).stdout) as Doc;
    expect(fired(off)).toEqual(base.filter((r) => r !== 'deleted-files'));
  });

  it('fdleak.config.json in the working directory and --config FILE do the same', async () => {
    const pid = String(leaky.pid);
    const dir = mkdtempSync(join(work, 'cfg-'));
    writeFileSync(join(dir, 'fdleak.config.json'), JSON.stringify({ rules: { 'deleted-files': { min: 41, warnBytes: 1e9 } } }));
    const rules = (stdout: string): string[] => (JSON.parse(stdout) as Doc).findings.map((f) => f.rule);
    expect(rules((await fdleakIn(work, ['diagnose', pid, '--json'])).stdout)).toContain('deleted-files');
    expect(rules((await fdleakIn(dir, ['diagnose', pid, '--json'])).stdout)).not.toContain('deleted-files');
    expect(rules((await fdleakIn(work, ['diagnose', pid, '--json', '--config', join(dir, 'fdleak.config.json')])).stdout)).not.toContain('deleted-files');
    // --set wins over the file: 40 files fire again at min 40.
    expect(rules((await fdleakIn(dir, ['diagnose', pid, '--json', '--set', 'deleted-files.min=40'])).stdout)).toContain('deleted-files');
    const shown = await fdleakIn(dir, ['rules', '--set', 'close-wait.min=5']);
    expect(shown.stdout).toContain('min=41 (fdleak.config.json; default 5)');
    expect(shown.stdout).toContain('min=5 (--set; default 10)');
    const json = JSON.parse((await fdleakIn(dir, ['rules', '--json'])).stdout) as { rules: Array<{ id: string; thresholds: Record<string, number>; origins: Record<string, string> }> };
    expect(json.rules.find((r) => r.id === 'deleted-files')).toMatchObject({ thresholds: { min: 41 }, origins: { min: 'fdleak.config.json', criticalBytes: 'default' } });
  });

  it('a misspelt rule id in --set or in a config file exits 2 with one line', async () => {
    const r = await fdleakIn(work, ['diagnose', String(leaky.pid), '--set', 'repeted-opens.min=5']);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', 'fdleak: --set: unknown rule "repeted-opens" (run `fdleak rules` for the list)\n']);
    const dir = mkdtempSync(join(work, 'bad-'));
    writeFileSync(join(dir, 'fdleak.config.json'), JSON.stringify({ rules: { 'delted-files': 'off' } }));
    const f = await fdleakIn(dir, ['analyze', join(ROOT, 'fixtures/lsof/sockets-files.txt')]);
    expect([f.code, f.stdout, f.stderr]).toEqual([2, '', 'fdleak: fdleak.config.json: unknown rule "delted-files" (run `fdleak rules` for the list)\n']);
    const t = await fdleakIn(work, ['rules', '--set', 'close-wait.mni=5']);
    expect([t.code, t.stderr]).toEqual([2, 'fdleak: --set: unknown threshold "mni" of close-wait (it has: min, critical, evidence, listenerPeers, off)\n']);
    const v = await fdleakIn(work, ['rules', '--set', 'close-wait.min=lots']);
    expect([v.code, v.stderr]).toEqual([2, 'fdleak: --set: close-wait.min: expected a number >= 0, found "lots"\n']);
  });
});
