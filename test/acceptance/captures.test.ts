/**
 * Acceptance of `fdleak analyze` on the real captures under fixtures/ (made by
 * fixtures/scenarios/capture.sh from leaklab.py's leaky processes in a private network namespace):
 * for each format, the findings (rule, pid, count, grouping) the same incident must produce.
 * leaklab's leaks are small (4 CLOSE_WAIT, 12 TIME_WAIT), so thresholds are lowered here, through
 * the engine's options, exactly as `fdleak rules` documents them. Where a count can be read from the
 * text independently (a grep of the capture), it is, rather than typed in.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import type { Finding } from '../../src/model/finding.js';
import { runRules } from '../../src/rules/engine.js';

const LOW = {
  'close-wait': { min: 2 }, 'orphan-sockets': { min: 2 }, 'time-wait': { min: 5 },
  'fin-wait2': { ownedMin: 1, min: 2 }, 'accept-backlog': { min: 1 },
};
const fixture = (name: string): string => new URL(`../../fixtures/${name}`, import.meta.url).pathname;

async function analyze(...names: string[]): Promise<{ findings: Finding[]; skipped: string[]; of: (rule: string, command?: string) => Finding[] }> {
  const streams = await Promise.all(names.map((n) => openLines(fixture(n), process.stdin)));
  const { snapshot } = await analyzeCapture(streams, undefined, '2026-11-22T00:00:00.000Z');
  const { findings, skipped } = runRules(snapshot, { thresholds: LOW });
  return {
    findings,
    skipped: skipped.map((s) => s.rule),
    of: (rule, command) => findings.filter((f) => f.rule === rule && (command === undefined || f.command === command)),
  };
}

/** Lines of a capture matching a pattern: the independent count. */
const grep = (name: string, pattern: RegExp): number => readFileSync(fixture(name), 'utf8').split('\n').filter((l) => pattern.test(l)).length;
const brief = (f: Finding): unknown[] => [f.rule, f.severity, f.command, f.count];

describe('analyze: lsof default output (list-everything: every process, thread rows)', () => {
  it('orphan sockets of the process holding never-connected sockets, by protocol; close-wait by client and listener', async () => {
    const { of, skipped } = await analyze('lsof/list-everything.txt');
    const unboundSock = grep('lsof/list-everything.txt', /^unbound\s+\d+\s+root\s+\d+u\s+sock\s/);
    const [orphans] = of('orphan-sockets');
    expect(brief(orphans!)).toEqual(['orphan-sockets', 'warning', 'unbound', unboundSock]);
    expect(orphans!.evidence.map((e) => [e.protocol, e.count])).toEqual([['TCP', 5], ['TCPv6', 1], ['UDP', 1]]);
    expect(orphans!.confidence).toBe('low');
    const [cw] = of('close-wait', 'cw-srv');
    expect(cw!.count).toBe(grep('lsof/list-everything.txt', /^cw-srv\s+\d+\s+root\s.*\(CLOSE_WAIT\)/));
    // cw-cli still holds one of the client ends, in FIN_WAIT2: the other half of one CLOSE_WAIT (issue 10.4).
    const held = grep('lsof/list-everything.txt', /^cw-cli\s+\d+\s+root\s.*->127\.0\.0\.1:47101 \(FIN_WAIT2\)/);
    expect(cw!.evidence).toEqual([{ peer: '127.0.0.1', listener: ':47101', service: null, count: 4, finWait2Peers: held }]);
    expect(cw!.message).toContain(`the other half of the ${held} FIN_WAIT2 held by pid 12 (cw-cli)`);
    expect(of('close-wait', 'v6lab')[0]!.evidence.map((e) => e.peer)).toEqual(['::1', '::ffff:127.0.0.1']);
    // lsof without -T has no queues, nor the rows no fd owns: those rules see nothing / cannot run.
    expect(of('accept-backlog')).toEqual([]);
    expect(skipped).toEqual(['fd-limit', 'time-wait']);
  });
});

describe('analyze: lsof -F (field output)', () => {
  it('the same verdicts as the column output, and the listener queue that -F T gives', async () => {
    const columns = await analyze('lsof/list-everything.txt');
    const fields = await analyze('lsof-F/list-everything.txt');
    const core = (fs: Finding[]): unknown[] => fs.filter((f) => f.rule !== 'accept-backlog').map((f) => [f.rule, f.pid, f.count]);
    expect(core(fields.findings)).toEqual(core(columns.findings));
    expect(fields.of('accept-backlog').map(brief)).toEqual([['accept-backlog', 'warning', 'bl-srv', 5]]);
  });
});

describe('analyze: ss -tanp', () => {
  it('accept-backlog with the backlog limit and the unaccepted children; time-wait to 127.0.0.1:3306 (mysql)', async () => {
    const { of, skipped } = await analyze('ss/tanp.txt');
    const [ab] = of('accept-backlog');
    expect(brief(ab!)).toEqual(['accept-backlog', 'critical', 'bl-srv', 5]); // 5 queued > backlog 4: full
    expect(ab!.evidence[0]).toMatchObject({
      listener: '127.0.0.1:47102', queued: 5, backlog: 4,
      closeWaitUnaccepted: grep('ss/tanp.txt', /^CLOSE-WAIT\s+\d+\s+\d+\s+127\.0\.0\.1:47102\s+\S+\s*$/),
      establishedUnaccepted: grep('ss/tanp.txt', /^ESTAB\s+\d+\s+\d+\s+127\.0\.0\.1:47102\s+\S+\s*$/),
    });
    const [tw] = of('time-wait');
    expect(brief(tw!)).toEqual(['time-wait', 'info', 'tw-cli', grep('ss/tanp.txt', /^TIME-WAIT\s/)]);
    expect(tw!.evidence[0]).toMatchObject({ peer: '127.0.0.1:3306', service: 'mysql', count: 12, ephemeralRange: null });
    expect(of('close-wait', 'cw-srv')[0]!.count).toBe(grep('ss/tanp.txt', /^CLOSE-WAIT.*"cw-srv"/));
    expect(skipped).toEqual(['deleted-files', 'fd-limit', 'inotify-limit', 'orphan-sockets', 'repeated-opens']); // no fd table in ss text
  });
});

describe('analyze: netstat -anp', () => {
  it('the same socket verdicts as ss, owners named by argv0 (python3)', async () => {
    const ss = await analyze('ss/tanp.txt');
    const netstat = await analyze('netstat/anp.txt');
    const verdicts = (fs: Finding[]): unknown[] => fs.map((f) => [f.rule, f.pid, f.count, f.evidence[0]]);
    // netstat has no backlog limit: its accept-backlog is a warning with backlog null.
    const strip = (fs: Finding[]): unknown[] => verdicts(fs).map((v) => (v as unknown[])[0] === 'accept-backlog' ? [...(v as unknown[]).slice(0, 3)] : v);
    expect(strip(netstat.findings)).toEqual(strip(ss.findings));
    expect(netstat.of('accept-backlog')[0]!.evidence[0]!.backlog).toBeNull();
    expect(new Set(netstat.findings.map((f) => f.command))).toEqual(new Set(['python3']));
  });
});

describe('analyze: raw /proc/net/tcp', () => {
  it('namespace-wide findings without owners: the queue, CLOSE_WAIT held by an unnamed owner, TIME_WAIT to mysql, orphaned FIN_WAIT2', async () => {
    const { findings, of } = await analyze('proc-net/tcp.txt');
    // CLOSE_WAIT rows (st 08) with an inode: held by an fd of a process the text does not name (cw-srv).
    const held = readFileSync(fixture('proc-net/tcp.txt'), 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[3] === '08' && c[9] !== '0');
    expect(held.length).toBeGreaterThan(0);
    expect(findings.map((f) => [f.rule, f.pid, f.count])).toEqual([
      ['accept-backlog', null, 5],
      ['close-wait', null, held.length],
      ['time-wait', null, grep('proc-net/tcp.txt', /^\s*\d+: \S+ \S+ 06 /)],
      ['fin-wait2', null, 6],
    ]);
    // grouped on the listener their local port is (cw-srv's 127.0.0.1:47101), not client by client
    const localPort = Number.parseInt(held[0]![1]!.split(':')[1]!, 16);
    expect(of('close-wait')[0]!.evidence.map((e) => [e.listener, e.count])).toEqual([[`:${localPort}`, held.length]]);
  });
});

describe('analyze: lsof and ss captured at the same moment, merged', () => {
  it('orphans need lsof, queues and TIME_WAIT need ss: together every rule but fd-limit runs', async () => {
    const { findings, skipped } = await analyze('lsof/list-everything.txt', 'ss/tanp.txt');
    expect(skipped).toEqual(['fd-limit']);
    expect(findings.map((f) => [f.rule, f.command, f.count])).toEqual([
      ['accept-backlog', 'bl-srv', 5],
      ['orphan-sockets', 'unbound', 7],
      ['close-wait', 'cw-srv', 4],
      ['close-wait', 'v6lab', 2],
      ['fin-wait2', 'cw-cli', 1],
      ['fin-wait2', 'wnd-srv', 1],
      ['fin-wait2', 'wnd-cli', 1],
      ['time-wait', 'tw-cli', 12],
      ['fin-wait2', 'cw-cli', 7],
    ]);
  });
});
