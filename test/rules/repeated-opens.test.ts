import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenText, RULE_FIXTURES, runRuleCase } from '../helpers/rule-case.js';
import { analyzeRuleFiles } from '../helpers/analyze-fixture.js';

/** How many fds above 2 of the captured tree link to `target` (read from the links, not from fdleak). */
function linksTo(name: string, pid: number, match: (target: string) => boolean): number {
  const dir = `${RULE_FIXTURES}repeated-opens/${name}/${pid}/fd`;
  return readdirSync(dir).filter((n) => Number(n) > 2 && match(readlinkSync(`${dir}/${n}`))).length;
}

describe('repeated-opens', () => {
  it('fires on a log file opened 300 times', async () => {
    const { pid, findings, golden } = await runRuleCase('repeated-opens', 'fires-log-reopened');
    const n = linksTo('fires-log-reopened', pid, (t) => t.endsWith('/app.log'));
    expect(n).toBe(300);
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence.map((e) => [String(e.target).replace(/.*\//, ''), e.fds])])).toEqual([
      [pid, n, 'warning', [['app.log', n]]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('judges anon inode types by anonMin, and is critical from critical on', async () => {
    const { pid, findings } = await runRuleCase('repeated-opens', 'fires-log-reopened', { min: 1000, anonMin: 2 });
    expect(findings.map((f) => f.evidence.map((e) => [e.target, e.fds]))).toEqual([[['anon_inode:eventfd', linksTo('fires-log-reopened', pid, (t) => t === 'anon_inode:[eventfd]')]]]);
    expect((await runRuleCase('repeated-opens', 'fires-log-reopened', { critical: 300 })).findings.map((f) => f.severity)).toEqual(['critical']);
    expect((await runRuleCase('repeated-opens', 'fires-log-reopened', { min: 301 })).findings).toEqual([]);
  });

  it('stays quiet on a log file open 20 times and a few eventfds and epolls', async () => {
    const { pid, findings } = await runRuleCase('repeated-opens', 'quiet-few-opens');
    expect(linksTo('quiet-few-opens', pid, (t) => t.endsWith('/app.log'))).toBe(20);
    expect(findings).toEqual([]);
  });

  it('fires from an lsof capture, counted by the capture reader\'s tally', async () => {
    const { snapshot, findings } = await analyzeRuleFiles('repeated-opens', ['fires-lsof/lsof.txt']);
    expect(snapshot.fds.filter((f) => f.kind === 'file' && !f.deleted)).toEqual([]); // no record per file fd: a tally
    expect(findings.map((f) => [f.pid, f.count, f.evidence.map((e) => [String(e.target).replace(/.*\//, ''), e.fds])])).toEqual([[10353, 130, [['app.log', 130]]]]);
    const anon = await analyzeRuleFiles('repeated-opens', ['fires-lsof/lsof.txt'], { min: 1000, anonMin: 2 });
    expect(anon.findings.map((f) => f.evidence.map((e) => [e.target, e.fds]))).toEqual([[['anon_inode:eventfd', 3], ['anon_inode:eventpoll', 2]]]);
  });
});
