import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenText, RULE_FIXTURES, runRuleCase } from '../helpers/rule-case.js';
import { analyzeRuleFiles } from '../helpers/analyze-fixture.js';

/** st_size and st_blocks * 512 summed over a case's fdstat files (what stat said at capture time). */
function captured(name: string, pid: number): { files: number; size: number; disk: number } {
  const dir = `${RULE_FIXTURES}deleted-files/${name}/${pid}/fdstat`;
  let size = 0;
  let disk = 0;
  const files = readdirSync(dir);
  for (const f of files) {
    const [s, b] = readFileSync(`${dir}/${f}`, 'utf8').trim().split(' ').map(Number);
    size += s!;
    disk += b! * 512;
  }
  return { files: files.length, size, disk };
}

describe('deleted-files', () => {
  it('fires on a process holding 12 unlinked log files, with the bytes stat gave', async () => {
    const { pid, findings, golden } = await runRuleCase('deleted-files', 'fires-rotated-logs');
    const truth = captured('fires-rotated-logs', pid);
    expect(truth).toEqual({ files: 12, size: 12 * 65536, disk: 12 * 65536 });
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence.map((e) => [e.files, e.bytes, e.size])])).toEqual([
      [pid, 12, 'warning', [[6, truth.disk / 2, truth.size / 2], [6, truth.disk / 2, truth.size / 2]]],
    ]);
    expect(findings[0]!.message).toMatch(/^12 deleted files still open, holding 768\.0 KiB on disk, 6 in \/tmp\/fdleak-kinds-\w+\/logs \(threshold 5 files or 100\.0 MiB\)$/);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('fires on bytes alone, and is critical from criticalBytes on', async () => {
    const { findings } = await runRuleCase('deleted-files', 'fires-rotated-logs', { min: 100, warnBytes: 700 * 1024 });
    expect(findings.map((f) => f.severity)).toEqual(['warning']);
    expect((await runRuleCase('deleted-files', 'fires-rotated-logs', { criticalBytes: 768 * 1024 })).findings.map((f) => f.severity)).toEqual(['critical']);
    expect((await runRuleCase('deleted-files', 'fires-rotated-logs', { min: 13 })).findings).toEqual([]);
  });

  it('stays quiet on two small temporary files', async () => {
    const { pid, snapshot, findings } = await runRuleCase('deleted-files', 'quiet-two-temp-files');
    expect(snapshot.fds.filter((f) => f.deleted === true).map((f) => f.size)).toEqual([4096, 4096]);
    expect(captured('quiet-two-temp-files', pid).files).toBe(2);
    expect(findings).toEqual([]);
  });

  it('fires from lsof captures: the listing, lsof +L1 (NLINK column) and lsof -F, with SIZE/OFF as bytes', async () => {
    // The capture's README: 8 deleted files of 50000 bytes (st_size; lsof gives no blocks).
    for (const file of ['fires-lsof/lsof.txt', 'fires-lsof/lsof-L1.txt', 'fires-lsof/lsof-F.txt']) {
      const { findings } = await analyzeRuleFiles('deleted-files', [file]);
      expect(findings.map((f) => [f.pid, f.count, f.evidence.map((e) => [String(e.directory).replace(/.*\//, ''), e.files, e.bytes])]), file).toEqual([
        [10353, 8, [['logs', 4, 200000], ['tmp', 4, 200000]]],
      ]);
      expect(findings[0]!.message, file).toContain('holding 390.6 KiB in size');
    }
    // The listing and +L1 read together: each fd counts once.
    expect((await analyzeRuleFiles('deleted-files', ['fires-lsof/lsof.txt', 'fires-lsof/lsof-L1.txt'])).findings.map((f) => f.count)).toEqual([8]);
    expect((await analyzeRuleFiles('deleted-files', ['fires-lsof/lsof.txt'], { min: 9 })).findings).toEqual([]);
  });
});
