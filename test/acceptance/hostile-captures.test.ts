/**
 * Issue 9 point 1 for `analyze`: real lsof and ss captures of processes whose comm and argv hold
 * terminal escapes (OSC, ESC sequences, BEL), newline, tab, a bidi override and invalid UTF-8
 * (test/helpers/leakers/hostile-names.py, each holding a TCP listener). The captures are taken by
 * the test at that moment (`lsof -n -P -p PID`, `ss -tlnp` inside the process's namespace), then
 * `fdleak analyze` of each, table and --json, must carry no raw control byte of the names: lsof's
 * own escapes are read back as text, and ss's raw bytes are shown escaped. One row per process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'vitest';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { runFdleak } from '../helpers/cli.js';
import { inNetns, startScenario, stopAll } from '../helpers/netns.js';

afterAll(stopAll);

const hex = (s: string | Buffer): string => Buffer.from(s).toString('hex');

const CASES: Array<{ name: string; comm: Buffer; argv: Buffer[] }> = [
  { name: 'OSC title + BEL', comm: Buffer.from('\x1b]0;pwned\x07'), argv: [Buffer.from('\x1b[2J\x1b[31mEVIL')] },
  { name: 'newline, tab, bidi override', comm: Buffer.from('a\nb\tc\u202e'), argv: [Buffer.from('line1\nline2')] },
  { name: 'invalid UTF-8 and C1 CSI', comm: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xc2, 0x9b, 0x32, 0x4a]), argv: [Buffer.from([0xc3, 0x28])] },
];

/** Raw bytes a terminal acts on: C0 (but the newlines between lines), DEL, C1, bidi controls. */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const LSOF = ['/usr/bin/lsof', '/usr/sbin/lsof'].find((p) => spawnSync(p, ['-v']).error === undefined);

describe('issue 9.1: names chosen by others never reach the terminal raw (analyze of real captures)', () => {
  for (const c of CASES) {
    it(`${c.name}: lsof -n -P -p and ss -tlnp captures, table and --json`, async (ctx: TestContext) => {
      if (LSOF === undefined) ctx.skip('lsof is not installed: no lsof capture to take');
      const s = await startScenario('hostile-names.py', [`--comm-hex=${hex(c.comm)}`, `--argv-hex=${c.argv.map(hex).join(',')}`, '--listen=1']);
      onTestFinished(() => s.stop());
      const dir = mkdtempSync(join(tmpdir(), 'fdleak-hostile-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const lsof = spawnSync(LSOF!, ['-n', '-P', '-p', String(s.pid)], { encoding: 'latin1' });
      expect(lsof.status).toBe(0);
      const ss = inNetns(s.pid, 'ss', ['-tlnp']);
      // The captures really carry the hostile bytes (ss prints comm raw; lsof escapes them).
      expect(Buffer.from(ss, 'utf8').includes(c.comm.subarray(0, 3)) || ss.includes(c.comm.toString('latin1').slice(0, 3))).toBe(true);
      const files = { lsof: join(dir, 'lsof.txt'), ss: join(dir, 'ss.txt') };
      writeFileSync(files.lsof, Buffer.from(lsof.stdout, 'latin1'));
      writeFileSync(files.ss, ss);

      for (const file of [files.lsof, files.ss]) {
        const table = await runFdleak(['analyze', file, '--fail-on', 'never']);
        if (file === files.ss && c.comm.includes(0x0a)) {
          // ss prints comm raw: a newline in it splits the row in two, and the row cannot be read.
          // That is one clear error line naming the file and line, with nothing raw in it.
          expect(table.code).toBe(2);
          expect(table.stderr.trimEnd().split('\n')).toHaveLength(1);
          expect(table.stderr).toMatch(/ss\.txt:\d+: /);
          expect(RAW.test(table.stderr.trimEnd())).toBe(false);
          continue;
        }
        expect(table.code, table.stderr).toBe(0);
        expect(table.stdout.split('\n').filter((l) => RAW.test(l))).toEqual([]);
        expect(table.stderr.split('\n').filter((l) => RAW.test(l))).toEqual([]);
        const json = await runFdleak(['analyze', file, '--json', '--fail-on', 'never']);
        expect(json.code, json.stderr).toBe(0);
        expect(RAW.test(json.stdout.replace(/\n/g, ''))).toBe(false);
        const doc = JSON.parse(json.stdout) as { processes: Array<{ pid: number | null; command: string }> };
        // One row per process: the leaker's pid once, its name never split over rows.
        expect(doc.processes.filter((p) => p.pid === s.pid)).toHaveLength(1);
      }
      // The table's rows of the process: exactly one line starts a row naming its pid.
      const table = await runFdleak(['analyze', files.lsof, '--fail-on', 'never']);
      expect(table.stdout.split('\n').filter((l) => new RegExp(`(^|[│ ])${s.pid}[ │]`).test(l)).length).toBeLessThanOrEqual(1);
    }, 40_000);
  }
});
