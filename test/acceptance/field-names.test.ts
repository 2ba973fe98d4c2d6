/**
 * Issue 9 point 1 for `diagnose`: processes whose comm and argv hold terminal escapes (ESC
 * sequences, BEL), newline, tab, a bidi override and invalid UTF-8 (test/helpers/leakers/
 * hostile-names.py). The table (plain and coloured) and --json must carry no raw control byte of
 * theirs, the header stays one line, and valid UTF-8 (café-数据) is shown as such. What the names
 * are is read from /proc/<pid>/comm and cmdline by the test itself.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { ROOT, runFdleak } from '../helpers/cli.js';
import { startScenario, stopAll } from '../helpers/netns.js';

afterAll(stopAll);

const hex = (s: string | Buffer): string => Buffer.from(s).toString('hex');

const CASES: Array<{ name: string; comm: Buffer; argv: Buffer[] }> = [
  { name: 'OSC title + BEL', comm: Buffer.from('\x1b]0;pwned\x07'), argv: [Buffer.from('\x1b[2J\x1b[31mEVIL'), Buffer.from('x\x07y')] },
  { name: 'newline, tab, bidi override', comm: Buffer.from('a\nb\tc\u202e'), argv: [Buffer.from('line1\nline2'), Buffer.from('t\tab'), Buffer.from('\u202eexe.txt')] },
  { name: 'invalid UTF-8', comm: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x80, 0x6e]), argv: [Buffer.from([0xc3, 0x28, 0x9b, 0x32, 0x4a])] },
];

/** Raw bytes a terminal acts on: C0 (but the newlines between lines), DEL, C1, bidi controls. */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** The test's own decoding of /proc bytes: UTF-8 where valid, else the bytes as \xNN. */
function decode(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (!text.includes('\ufffd')) return text;
  let out = '';
  for (let i = 0; i < bytes.length;) {
    for (let n = 4; n >= 1; n--) {
      const piece = bytes.subarray(i, i + n);
      const t = piece.toString('utf8');
      if (n === 1 && (t === '\ufffd' || bytes[i]! >= 0x80)) { out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`; i++; break; }
      if (t.length > 0 && !t.includes('\ufffd') && Buffer.byteLength(t) === n) { out += t; i += n; break; }
    }
  }
  return out;
}

async function runColoured(args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['bin/fdleak.js', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FORCE_COLOR: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise((r) => child.once('close', r));
  return out;
}

describe('issue 9.1: names chosen by others never reach the terminal raw (diagnose)', () => {
  for (const c of CASES) {
    it(`${c.name}: table, coloured table and --json`, async () => {
      const s = await startScenario('hostile-names.py', [`--comm-hex=${hex(c.comm)}`, `--argv-hex=${c.argv.map(hex).join(',')}`]);
      onTestFinished(() => s.stop());
      const comm = readFileSync(`/proc/${s.pid}/comm`).subarray(0, -1); // without the kernel's newline
      expect(comm.equals(c.comm)).toBe(true);
      const cmdline = readFileSync(`/proc/${s.pid}/cmdline`);
      for (const a of c.argv) expect(cmdline.includes(a)).toBe(true);

      const table = await runFdleak(['diagnose', String(s.pid)]);
      expect(table.stderr).toBe('');
      const lines = table.stdout.split('\n');
      expect(lines.filter((l) => RAW.test(l))).toEqual([]);
      // The header is one line: the next one is the fd line.
      const header = lines.findIndex((l) => l.startsWith(`pid ${s.pid} `));
      expect(header).toBe(0);
      expect(lines[1]).toMatch(/^fds open: /);
      // The finding that names the process (fd-limit at 90%) is one line too.
      expect(table.stdout).toMatch(/^1\. (WARNING|CRITICAL) fd-limit {2}\d+ of 20 fds open/m);

      // Coloured: the only escape sequences are fdleak's own SGR colours.
      const coloured = await runColoured(['diagnose', String(s.pid)]);
      expect(coloured).toContain('\x1b[1m'); // bold header: colour is on
      expect(coloured.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => RAW.test(l))).toEqual([]);

      const json = await runFdleak(['diagnose', String(s.pid), '--json']);
      expect(RAW.test(json.stdout.replace(/\n/g, ''))).toBe(false);
      const doc = JSON.parse(json.stdout) as { process: { command: string; cmdline: string }; findings: Array<{ command: string }> };
      expect(doc.process.command).toBe(decode(comm));
      expect(doc.findings[0]!.command).toBe(decode(comm));
      for (const a of c.argv) expect(doc.process.cmdline).toContain(decode(a));
    }, 30_000);
  }

  it('café-数据 is shown as such (UTF-8 read as UTF-8)', async () => {
    const name = 'café-数据';
    const s = await startScenario('hostile-names.py', [`--comm-hex=${hex(name)}`, `--argv-hex=${hex(name)}`]);
    onTestFinished(() => s.stop());
    expect(readFileSync(`/proc/${s.pid}/comm`, 'utf8')).toBe(`${name}\n`);
    const table = await runFdleak(['diagnose', String(s.pid)]);
    expect(table.stdout.split('\n')[0]!.startsWith(`pid ${s.pid} ${name}  `)).toBe(true);
    const doc = JSON.parse((await runFdleak(['diagnose', String(s.pid), '--json'])).stdout) as { process: { command: string; cmdline: string } };
    expect(doc.process.command).toBe(name);
    expect(doc.process.cmdline.endsWith(` -- ${name}`)).toBe(true);
  }, 30_000);
});
