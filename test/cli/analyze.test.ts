/**
 * `fdleak analyze` as a user runs it: pipes from the real tools, several files, and bad input,
 * which must give exactly one line on stderr naming the source (and line), exit 2, no stack trace,
 * and never hang.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runFdleak } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fdleak-analyze-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a shell pipeline into `node bin/fdleak.js ...` from the project root. */
function pipe(command: string, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Exactly one stderr line, exit 2, no stack: what every bad input must give. */
function expectOneLineError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('fdleak analyze from pipes', () => {
  it('lsof -n | fdleak analyze: every process of the box, this test runner among them', async () => {
    const r = await pipe('lsof -n 2>/dev/null | node bin/fdleak.js analyze --json --fail-on never');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { schema: string; input: { format: string; lines: number }; processes: Array<{ pid: number; fds: number }> };
    expect(doc.schema).toBe('fdleak/analyze@1');
    expect(doc.input.format).toBe('lsof');
    expect(doc.input.lines).toBeGreaterThan(10);
    expect(doc.processes.some((p) => p.pid === process.pid && p.fds > 0)).toBe(true);
  });

  it('ss -tanp | fdleak analyze -: a table report with the ss input named', async () => {
    const r = await pipe('ss -tanp | node bin/fdleak.js analyze - --fail-on never');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^stdin: ss, \d+ lines, \d+ records/);
  });

  it('--format forces a parser; a capture that does not match it is rejected with its first line', async () => {
    const ss = file('ss.txt', 'State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\nESTAB  0      0      127.0.0.1:5432     127.0.0.1:40000\n');
    expectOneLineError(await runFdleak(['analyze', ss, '--format', 'lsof']), /ss\.txt:\d+: no lsof records could be read/);
    expectOneLineError(await runFdleak(['analyze', ss, '--format', 'xml']), /^fdleak: option '--format <format>' argument 'xml' is invalid/);
  });
});

describe('fdleak analyze on bad input', () => {
  it('an empty file', async () => {
    expectOneLineError(await runFdleak(['analyze', file('empty.txt', '')]), /^fdleak: .*empty\.txt: empty input: expected lsof, ss, netstat or \/proc\/net text\n$/);
  });

  it('binary data', async () => {
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    expectOneLineError(await runFdleak(['analyze', file('random.bin', bytes)]), /random\.bin:\d+: binary data/);
  });

  it('text that is none of the formats names the first line', async () => {
    expectOneLineError(await runFdleak(['analyze', file('prose.txt', 'hello\nthis is not a capture\n')]), /prose\.txt:1: not a format fdleak reads/);
  });

  it('a missing file and a directory', async () => {
    expectOneLineError(await runFdleak(['analyze', join(dir, 'nope.txt')]), /nope\.txt: cannot read: no such file/);
    expectOneLineError(await runFdleak(['analyze', dir]), /cannot read: is a directory/);
  });

  it('a line of megabytes is skipped and counted, not buffered, and the rest is read', async () => {
    const header = 'State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n';
    const rows = Array.from({ length: 60 }, (_, i) => `ESTAB  0      0      127.0.0.1:${40000 + i}     127.0.0.1:5432\n`).join('');
    const path = file('huge-line.txt', header + rows + 'x'.repeat(8 << 20) + '\n' + rows);
    const started = Date.now();
    const r = await runFdleak(['analyze', path, '--json', '--fail-on', 'never']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { input: { skipped: number; lines: number }; skippedLines: Array<{ line: number; reason: string }> };
    expect(doc.input.skipped).toBe(1);
    expect(doc.input.lines).toBe(122);
    expect(doc.skippedLines[0]).toEqual({ source: path, line: 62, reason: expect.stringMatching(/longer than/) });
  });

  it('a few damaged lines in a good capture are counted; mostly damaged input is an error at its first bad line', async () => {
    const header = 'State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n';
    const good = Array.from({ length: 40 }, (_, i) => `ESTAB  0      0      127.0.0.1:${40000 + i}     127.0.0.1:5432\n`).join('');
    const few = await runFdleak(['analyze', file('few-bad.txt', header + good + 'ESTAB 0 0 127.0.0.1:40\n' + good), '--json', '--fail-on', 'never']);
    expect(few.code).toBe(0);
    expect((JSON.parse(few.stdout) as { input: { skipped: number } }).input.skipped).toBe(1);
    const mixed = header + good.slice(0, 200) + Array.from({ length: 40 }, (_, i) => `node ${1000 + i} root 3u IPv4 123 0t0 TCP *:80 (LISTEN)\n`).join('');
    expectOneLineError(await runFdleak(['analyze', file('mixed.txt', mixed)]), /mixed\.txt:\d+: \d+ of \d+ lines are not ss output/);
  });

  it('stdin given twice, and no input at all on a terminal', async () => {
    expectOneLineError(await runFdleak(['analyze', '-', '-']), /stdin \("-"\) can be read only once/);
  });
});
