/**
 * Once an input is judged unusable, `fdleak analyze` exits at once: it stops reading and closes the
 * source, whether the writer is still there (a pipe, a FIFO) or the source never ends (/dev/kmsg).
 * Several formats in one stream are split where the format changes; a single over-long line is
 * named as such. Each run is the CLI as a user runs it, timed from the moment the input was given.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ROOT, runFdleak } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fdleak-unusable-'));
const children: ChildProcess[] = [];
afterEach(() => { for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run { code: number | null; stderr: string; ms: number }

/** `node bin/fdleak.js analyze ...args`; `feed` writes to its stdin, which then stays open (the writer does not go away). */
function analyze(args: string[], feed?: Buffer | string, close = false): Promise<Run> {
  const child = spawn(process.execPath, ['bin/fdleak.js', 'analyze', ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' }, stdio: ['pipe', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const start = performance.now();
  if (feed !== undefined) child.stdin!.write(feed);
  if (close) child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('close', (code) => {
    clearTimeout(timer);
    child.stdin!.destroy();
    resolve({ code, stderr, ms: performance.now() - start });
  }));
}

function expectQuickError(r: Run, pattern: RegExp): void {
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.code).toBe(2);
  expect(r.ms, `exited after ${Math.round(r.ms)} ms`).toBeLessThan(1000);
}

describe('fdleak analyze exits at once on unusable input', () => {
  it('/dev/kmsg (never ends, reads block): exit 2 within a second', async (ctx) => {
    try {
      accessSync('/dev/kmsg', constants.R_OK);
    } catch (error) {
      console.log(`skipped: /dev/kmsg is not readable here (${String(error)})`);
      ctx.skip();
    }
    expectQuickError(await analyze(['/dev/kmsg']), /^fdleak: \/dev\/kmsg:1: not a format fdleak reads/);
  });

  it('binary stdin whose writer stays open: exit 2 within a second', async () => {
    expectQuickError(await analyze([], Buffer.from('a\0b\n')), /^fdleak: stdin:1: binary data \(NUL bytes\)/);
  });

  it('text that is no format, on stdin whose writer stays open: exit 2 within a second of the head', async () => {
    expectQuickError(await analyze([], 'hello world\n'.repeat(60)), /^fdleak: stdin:1: not a format fdleak reads/);
  });

  it('binary data in a FIFO whose writer stays open: exit 2 within a second', async () => {
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn('sh', ['-c', `printf 'a\\000b\\n' > ${fifo}; exec sleep 20 > ${fifo}`], { stdio: 'ignore' });
    children.push(writer);
    expectQuickError(await analyze([fifo]), /binary data \(NUL bytes\)/);
    expect(writer.exitCode).toBeNull(); // the writer was still there: fdleak did not wait for it
  });

  it('a single 100 MB line is named as an over-long line, with its source and number', async () => {
    const r = await analyze([], Buffer.alloc(100 * 1024 * 1024, 'a'), true);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^fdleak: stdin:1: line 1 is longer than 64 KiB/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('several formats in one stream', () => {
  const lsof = readFileSync(join(ROOT, 'fixtures/lsof/tcp-udp-queues.txt'));
  const ss = readFileSync(join(ROOT, 'fixtures/ss/tanp.txt'));

  it('cat lsof.txt ss.txt | fdleak analyze: split where the format changes, read as the two files are', async () => {
    const files = await runFdleak(['analyze', 'fixtures/lsof/tcp-udp-queues.txt', 'fixtures/ss/tanp.txt', '--json', '--fail-on', 'never']);
    const child = spawn(process.execPath, ['bin/fdleak.js', 'analyze', '--json', '--fail-on', 'never'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' } });
    children.push(child);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stdin.end(Buffer.concat([lsof, ss]));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    const a = JSON.parse(files.stdout) as { input: { format: string; files: Array<{ format: string; lines: number; source: string }> }; processes: unknown; findings: Array<{ rule: string; pid: number | null; count: number }> };
    const b = JSON.parse(stdout) as typeof a;
    expect(b.input.format).toBe('lsof+ss');
    expect(b.input.files.map((i) => [i.source, i.format, i.lines])).toEqual([
      ['stdin', 'lsof', lsof.toString().split('\n').length - 1],
      ['stdin#2', 'ss', ss.toString().split('\n').length - (ss.at(-1) === 10 ? 1 : 0)],
    ]);
    expect(b.processes).toEqual(a.processes);
    expect(b.findings.map((f) => [f.rule, f.pid, f.count])).toEqual(a.findings.map((f) => [f.rule, f.pid, f.count]));
    expect(b.findings.length).toBeGreaterThan(0);
  });
});
