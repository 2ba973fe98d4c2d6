/**
 * bin/fdleak.js run as a command (as npx and a global install run it) goes through its sh line,
 * which re-runs it under node without NODE_EXTRA_CA_CERTS: Node 20 parses that bundle before any JS
 * runs, for TLS fdleak never does. The launcher must be invisible: the sh `exec`s node in its own
 * process (same pid), so signals reach node, its exit code is the command's, stdin is node's, and
 * every argument arrives byte for byte. Each of those is checked here against `node bin/fdleak.js`
 * (the contract's entry point), which must keep working too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/fdleak.js');
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' };
const VERSION = /^\d+\.\d+\.\d+\n$/;
const FIXTURE = 'fixtures/rules/close-wait/fires-server-never-closes';
const LSOF = readFileSync(join(ROOT, 'fixtures/lsof/close-wait-filter.txt'));

const dir = mkdtempSync(join(tmpdir(), 'fdleak-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The launcher run as a command (argv[0] = bin/fdleak.js), or by node, with `input` on stdin. */
function run(how: 'command' | 'node', args: string[], input?: Buffer) {
  const [cmd, argv] = how === 'command' ? [BIN, args] : [process.execPath, [BIN, ...args]];
  return spawnSync(cmd, argv, { cwd: ROOT, env: ENV, input, encoding: 'utf8', timeout: 30_000 });
}

describe('bin/fdleak.js', () => {
  it('run as a command, starts node without NODE_EXTRA_CA_CERTS', () => {
    const r = run('command', ['--version']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(VERSION);
  });

  it('run by node, works the same (node has read the bundle by then, and says it could not)', () => {
    const r = run('node', ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(VERSION);
    expect(r.stderr).toMatch(/Ignoring extra certs from `\/nonexistent\/ca\.pem`/);
  });

  it('passes exit codes 0, 1 and 2 through, with the same output', () => {
    const cases: Array<[string[], number]> = [
      [['rules', '--json'], 0],
      [['diagnose', '11400', '--proc-root', FIXTURE, '--json'], 1], // close-wait findings
      [['diagnose', '11400', '--proc-root', FIXTURE, '--json', '--fail-on', 'never'], 0],
      [['diagnose', 'abc'], 2],
      [['no-such-command'], 2],
    ];
    for (const [args, code] of cases) {
      const viaSh = run('command', args);
      const viaNode = run('node', args);
      expect(viaSh.status, args.join(' ')).toBe(code);
      expect(viaNode.status, args.join(' ')).toBe(code);
      expect(viaSh.stdout.replace(/"takenAt": "[^"]+"/, ''), args.join(' ')).toBe(viaNode.stdout.replace(/"takenAt": "[^"]+"/, ''));
    }
  });

  it('passes stdin through: analyze - reads the pipe', () => {
    const viaSh = run('command', ['analyze', '-', '--json'], LSOF);
    const viaFile = run('node', ['analyze', 'fixtures/lsof/close-wait-filter.txt', '--json']);
    expect(viaSh.status).toBe(viaFile.status);
    const body = (out: string): unknown => ({ ...JSON.parse(out).findings });
    expect(body(viaSh.stdout)).toEqual(body(viaFile.stdout));
    expect(JSON.parse(viaSh.stdout).input.lines).toBe(LSOF.toString('utf8').split('\n').filter((l) => l !== '').length);
  });

  it('passes every argument on unchanged: spaces, quotes, $(...), backquotes, globs, newlines, a leading dash-free empty one', () => {
    const marker = join(dir, 'ran');
    const expected = run('node', ['analyze', 'fixtures/lsof/close-wait-filter.txt', '--json']);
    const findings = (out: string): unknown => JSON.parse(out).findings;
    const odd = [`a b`, `it's "quoted"`, `$(touch ${marker})`, `\`touch ${marker}\``, `*`, `line\nbreak`, `tab\there`, `back\\slash`, `semi;colon|pipe&amp`];
    for (const name of odd) {
      // A capture file by that name: analyze reads it, and the error for a missing one quotes the name.
      const path = join(dir, name.replaceAll('/', '_'));
      writeFileSync(path, LSOF);
      const found = run('command', ['analyze', path, '--json']);
      expect(found.status, JSON.stringify(name)).toBe(expected.status);
      expect(findings(found.stdout)).toEqual(findings(expected.stdout)); // the file by that name was read
      const missing = run('command', ['analyze', `${path}.missing`]);
      expect(missing.status).toBe(2);
      expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(missing.stderr).toContain(`${join(dir, '')}`); // the name is quoted back (escaped: safe-text.ts)
    }
    expect(existsSync(marker)).toBe(false); // nothing was run by a shell
    const empty = run('command', ['diagnose', '']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/found ""/);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} reaches node: same pid (exec), killed by the signal`, async () => {
      // analyze - waits on a pipe that stays open: a run that lasts until it is stopped.
      const child = spawn(BIN, ['analyze', '-'], { cwd: ROOT, env: ENV, stdio: ['pipe', 'ignore', 'ignore'] });
      const node = realpathSync(process.execPath);
      let exe = '';
      for (let waited = 0; waited < 10_000; waited += 10) {
        try {
          exe = readlinkSync(`/proc/${child.pid}/exe`);
          if (exe === node && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes('bin/fdleak.js')) break;
        } catch {
          // not started yet
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(exe).toBe(node); // the sh is gone: its pid is node's now
      expect(readFileSync(`/proc/${child.pid}/environ`, 'utf8')).not.toContain('NODE_EXTRA_CA_CERTS');
      await new Promise((r) => setTimeout(r, 300)); // let node load and wait on stdin
      child.kill(signal);
      const [code, got] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
      child.stdin.destroy();
      expect({ code, signal: got }).toEqual({ code: null, signal });
    });
  }
});

describe('which node the launcher runs', () => {
  it('the node that built the package (dist/node), not a `node` first on PATH', () => {
    const fakeDir = mkdtempSync(join(dir, 'path-'));
    const marker = join(fakeDir, 'ran');
    writeFileSync(join(fakeDir, 'node'), `#!/bin/sh\ntouch ${marker}\necho fake-node\n`, { mode: 0o755 });
    const r = spawnSync(BIN, ['--version'], { env: { ...ENV, PATH: `${fakeDir}:${ENV.PATH}` }, encoding: 'utf8' });
    expect(r.stdout).toMatch(VERSION);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(join(ROOT, 'dist/node'), 'utf8')).toBe(`${process.execPath}\n`);
  });

  it('finds dist/node through the real path of a symlinked bin (npm\'s node_modules/.bin, a global install)', () => {
    // A package of its own: bin/fdleak.js copied, dist/node naming a stand-in "node" that says so.
    const pkg = mkdtempSync(join(dir, 'pkg-'));
    spawnSync('mkdir', ['-p', join(pkg, 'bin'), join(pkg, 'dist'), join(pkg, 'elsewhere')]);
    writeFileSync(join(pkg, 'bin/fdleak.js'), readFileSync(BIN), { mode: 0o755 });
    writeFileSync(join(pkg, 'dist/pinned'), '#!/bin/sh\nprintf "pinned:%s\\n" "$@"\n', { mode: 0o755 });
    writeFileSync(join(pkg, 'dist/node'), `${join(pkg, 'dist/pinned')}\n`);
    symlinkSync(join(pkg, 'bin/fdleak.js'), join(pkg, 'elsewhere/fdleak'));
    const r = spawnSync(join(pkg, 'elsewhere/fdleak'), ['a b', ''], { env: ENV, encoding: 'utf8' });
    expect(r.stdout).toBe(`pinned:${join(pkg, 'elsewhere/fdleak')}\npinned:a b\npinned:\n`);
    // Where the pinned node is gone, the node of PATH.
    rmSync(join(pkg, 'dist/pinned'));
    const fallback = spawnSync(join(pkg, 'elsewhere/fdleak'), [], { env: { ...ENV, PATH: `${join(pkg, 'fake')}:${ENV.PATH}` }, encoding: 'utf8' });
    expect(fallback.stderr).toMatch(/Cannot find module .*dist\/cli/); // the real node, on a package without a build
  });
  it('starts node with its malloc tunables first in GLIBC_TUNABLES, a user\'s own after it (theirs win)', () => {
    const pkg = mkdtempSync(join(dir, 'tunables-'));
    spawnSync('mkdir', ['-p', join(pkg, 'bin'), join(pkg, 'dist')]);
    writeFileSync(join(pkg, 'bin/fdleak.js'), readFileSync(BIN), { mode: 0o755 });
    writeFileSync(join(pkg, 'dist/pinned'), '#!/bin/sh\nprintf "%s" "$GLIBC_TUNABLES"\n', { mode: 0o755 });
    writeFileSync(join(pkg, 'dist/node'), `${join(pkg, 'dist/pinned')}\n`);
    const ours = 'glibc.malloc.trim_threshold=16777216:glibc.malloc.hugetlb=1';
    expect(spawnSync(join(pkg, 'bin/fdleak.js'), [], { env: ENV, encoding: 'utf8' }).stdout).toBe(ours);
    const theirs = 'glibc.malloc.arena_max=2';
    expect(spawnSync(join(pkg, 'bin/fdleak.js'), [], { env: { ...ENV, GLIBC_TUNABLES: theirs }, encoding: 'utf8' }).stdout).toBe(`${ours}:${theirs}`);
  });

  it('the programs fdleak starts get GLIBC_TUNABLES as fdleak was given it: a command under trace', (ctx) => {
    const probe = ['trace', '--json', '--', '/bin/sh', '-c', 'printf "[%s]" "${GLIBC_TUNABLES-unset}" >&2'];
    for (const [given, seen] of [[undefined, '[unset]'], ['glibc.malloc.arena_max=2', '[glibc.malloc.arena_max=2]']] as const) {
      const r = spawnSync(BIN, probe, { env: given === undefined ? ENV : { ...ENV, GLIBC_TUNABLES: given }, encoding: 'utf8', timeout: 30_000 });
      if (r.status === 2 && /strace/.test(r.stderr)) ctx.skip(`fdleak trace cannot run here: ${r.stderr.trim()}`);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain(seen); // the command's output goes to stderr
    }
  });

  it.each([
    ['diagnose', ['diagnose', '11400', '--proc-root', FIXTURE], 1], // close-wait findings
    ['scan', ['scan', '--proc-root', 'fixtures/scan/basic/proc'], 0],
  ] as const)('%s exits once its report is written (no wait for node\'s teardown): the whole report and the exit code still reach a reader that takes its time', (_, args, status) => {
    for (const extra of [['--json'], []]) {
      const expected = run('node', [...args, ...extra]);
      // The reader starts reading half a second after the start: the report waits in the pipe.
      const slow = spawnSync('bash', ['-c', '"$0" "$@" | (sleep 0.5; cat); exit "${PIPESTATUS[0]}"', BIN, ...args, ...extra], { cwd: ROOT, env: ENV, encoding: 'utf8', timeout: 30_000 });
      expect(slow.status).toBe(status); // as via node
      expect(expected.status).toBe(status);
      const strip = (out: string): string => out.replace(/"takenAt": "[^"]+"/, '').replace(/generated [^\n]*\n/, '');
      expect(strip(slow.stdout)).toBe(strip(expected.stdout));
      expect(slow.stdout.length).toBeGreaterThan(900);
    }
  });
});

describe('a reader that goes away', () => {
  // stdout a pipe whose read end is closed before fdleak writes: its write fails with EPIPE
  const closedReader = (args: string[]): Promise<{ status: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(BIN, args, { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stderr }));
    });

  it.each([
    ['analyze', ['analyze', 'fixtures/lsof/list-everything.txt', '--json']],
    ['analyze (table)', ['analyze', 'fixtures/lsof/list-everything.txt']],
    ['rules', ['rules']],
    ['--help', ['--help']],
  ])('%s ends quietly with 141, as a tool killed by SIGPIPE (no stack trace)', async (_, args) => {
    const { status, stderr } = await closedReader(args);
    expect(stderr).toBe('');
    expect(status).toBe(141);
  });
});
