import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenText, RULE_FIXTURES, runRuleCase } from '../helpers/rule-case.js';

/** inotify instances and "inotify wd:" lines of a captured tree, read from its links and fdinfo copies. */
function captured(name: string, pid: number): { instances: number; watches: number; limit: number } {
  const root = `${RULE_FIXTURES}inotify-limit/${name}`;
  const fds = readdirSync(`${root}/${pid}/fd`).filter((n) => readlinkSync(`${root}/${pid}/fd/${n}`) === 'anon_inode:inotify');
  const watches = fds.reduce((s, n) => s + readFileSync(`${root}/${pid}/fdinfo/${n}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length, 0);
  const limit = Math.min(...['fs/inotify/max_user_instances', 'user/max_inotify_instances'].map((f) => Number(readFileSync(`${root}/sys/${f}`, 'utf8'))));
  return { instances: fds.length, watches, limit };
}

describe('inotify-limit', () => {
  it('fires on 25 inotify instances against a user namespace limit of 30', async () => {
    const { pid, findings, golden } = await runRuleCase('inotify-limit', 'fires-userns-limit');
    const truth = captured('fires-userns-limit', pid);
    expect(truth).toEqual({ instances: 25, watches: 50, limit: 30 });
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence[0]!.instances, f.evidence[0]!.watches, f.evidence[0]!.userInstances, f.evidence[0]!.maxUserInstances])).toEqual([
      [pid, truth.instances, 'warning', truth.instances, truth.watches, truth.instances, truth.limit],
    ]);
    // The user is the owner of the pid directory: in a checkout, whoever cloned it.
    const uid = statSync(`${RULE_FIXTURES}inotify-limit/fires-userns-limit/${pid}`).uid;
    expect(findings[0]!.message).toBe(`25 of 30 inotify instances (83.3%) held by uid ${uid} (1 process), 25 of them by this process (threshold 80%)`);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('is critical from criticalPercent on, quiet below warnPercent', async () => {
    expect((await runRuleCase('inotify-limit', 'fires-userns-limit', { criticalPercent: 80 })).findings.map((f) => f.severity)).toEqual(['critical']);
    expect((await runRuleCase('inotify-limit', 'fires-userns-limit', { warnPercent: 84 })).findings).toEqual([]);
  });

  it('stays quiet on 3 watchers against the host limits', async () => {
    const { pid, snapshot, findings } = await runRuleCase('inotify-limit', 'quiet-few-watchers');
    const truth = captured('quiet-few-watchers', pid);
    expect(snapshot.fds.filter((f) => f.anonType === 'inotify').map((f) => f.inotifyWatches)).toEqual([4, 4, 4]);
    expect(truth.instances).toBe(3);
    expect(findings).toEqual([]);
  });
});
