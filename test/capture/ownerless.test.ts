/**
 * analyze on captures that name no owner, or lost their LISTEN row: the real captures of one
 * incident in fixtures/pasted (a server holding CLOSE_WAIT connections from two client addresses on
 * its listener 127.0.0.1:47110, the clients' ends orphaned FIN_WAIT2). Every expected number is read
 * from the capture text itself (the rows' state, peer and inode columns), never typed in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import type { Finding } from '../../src/model/finding.js';
import { inferredListenPort } from '../../src/model/queries.js';
import { judgedScope } from '../../src/report/analyze/judged.js';
import { analyzeTable } from '../../src/report/analyze/table.js';
import { runRules } from '../../src/rules/engine.js';
import { ROOT } from '../helpers/cli.js';

const read = (name: string): string => readFileSync(join(ROOT, 'fixtures/pasted', name), 'latin1');
const LISTENER = ':47110';

async function analyzeText(text: string) {
  const stream = await openLines('-', Readable.from([Buffer.from(text, 'latin1')]));
  const capture = await analyzeCapture([stream], undefined, '2026-12-03T00:00:00.000Z');
  const result = runRules(capture.snapshot);
  const of = (rule: string): Finding[] => result.findings.filter((f) => f.rule === rule);
  return { capture, ...result, of };
}

/** CLOSE_WAIT rows of a netstat/ss capture on the listener, counted per client address. */
function clientsOf(text: string, state: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!state.test(line)) continue;
    const m = /127\.0\.0\.1:47110\s+(\d+\.\d+\.\d+\.\d+):\d+/.exec(line);
    if (m !== null) out.set(m[1]!, (out.get(m[1]!) ?? 0) + 1);
  }
  return out;
}
const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const groups = (f: Finding): unknown[] => f.evidence.map((e) => [e.peer, e.listener, e.count]);
const expected = (m: Map<string, number>): unknown[] => [...m].sort((a, b) => b[1] - a[1]).map(([peer, n]) => [peer, LISTENER, n]);

describe('ownerless rows still feed close-wait, with pid null, grouped on the listener', () => {
  it('netstat -tan (no -p): the exact CLOSE_WAIT count, pid null, on :47110', async () => {
    const text = read('netstat-tan.txt');
    const clients = clientsOf(text, /CLOSE_WAIT/);
    expect(total(clients)).toBeGreaterThanOrEqual(10);
    const { of } = await analyzeText(text);
    const [cw, ...more] = of('close-wait');
    expect(more).toEqual([]);
    expect([cw!.pid, cw!.count, cw!.confidence]).toEqual([null, total(clients), 'high']);
    expect(groups(cw!)).toEqual(expected(clients));
    expect(cw!.message).toContain('held by an owner this input does not name');
    expect(cw!.advice).toContain('lsof -nP -iTCP:47110 -sTCP:CLOSE_WAIT');
  });

  it('raw /proc/net/tcp (inode set, pid unknown): close-wait with pid null, the count of st 08 rows with an inode', async () => {
    const rows = read('proc-net-tcp.txt').split('\n').map((l) => l.trim().split(/\s+/));
    const held = rows.filter((c) => c[3] === '08' && c[9] !== '0');
    const ports = new Set(held.map((c) => Number.parseInt(c[1]!.split(':')[1]!, 16)));
    expect([...ports]).toEqual([47110]);
    const { of } = await analyzeText(read('proc-net-tcp.txt'));
    expect(of('close-wait').map((f) => [f.pid, f.count, f.evidence.every((e) => e.listener === LISTENER)])).toEqual([[null, held.length, true]]);
  });

  it('ss -tan (ss -tanp with its Process column taken off): the same', async () => {
    const text = read('ss-tanp.txt').replace(/ users:\(\(.*\)\)/g, '').replace(/ Process\s*$/m, '');
    expect(text).not.toMatch(/pid=/);
    const clients = clientsOf(text, /^CLOSE-WAIT/);
    const { of } = await analyzeText(text);
    expect(of('close-wait').map((f) => [f.pid, f.count, groups(f)])).toEqual([[null, total(clients), expected(clients)]]);
  });

  it('the rows of a process the capture names stay its own: no second, ownerless finding', async () => {
    const text = read('netstat-tanp.txt');
    const pid = Number(/(\d+)\/node/.exec(text.split('\n').find((l) => l.includes('CLOSE_WAIT'))!)![1]);
    const { of } = await analyzeText(text);
    expect(of('close-wait').map((f) => [f.pid, f.count])).toEqual([[pid, total(clientsOf(text, /CLOSE_WAIT/))]]);
  });

  it('with nothing found on a partial view, the report says what it judged, not "nothing here looks like a leak"', async () => {
    const text = read('netstat-tan.txt').split('\n').filter((l) => !/CLOSE_WAIT|FIN_WAIT2/.test(l)).join('\n');
    const { capture, findings, skipped, ran } = await analyzeText(text);
    expect(findings).toEqual([]);
    const judged = judgedScope(capture.snapshot, ran, skipped);
    expect(judged.rules).toContain('close-wait');
    expect(judged.limits.join('\n')).toMatch(/could not run \(.*orphan-sockets.*\)/);
    expect(judged.limits.join('\n')).toMatch(new RegExp(`${capture.snapshot.sockets.length} of ${capture.snapshot.sockets.length} socket rows name no owner`));
    const report = analyzeTable(capture, findings, skipped, judged, { color: false, version: 'test', generatedAt: capture.snapshot.takenAt });
    expect(report).not.toContain('nothing here looks like a leak');
    expect(report).toContain('no findings in what this input let fdleak judge');
  });
});

describe('server side told by the rows when the LISTEN row is missing', () => {
  it('netstat -tanp | grep -v LISTEN: one group per client address on the listener, not one per client port', async () => {
    const full = read('netstat-tanp.txt');
    const text = full.split('\n').filter((l) => !l.includes('LISTEN')).join('\n');
    const clients = clientsOf(text, /CLOSE_WAIT/);
    expect(clients.size).toBe(2);
    const { of, capture } = await analyzeText(text);
    expect(capture.snapshot.sockets.some((s) => s.state === 'LISTEN')).toBe(false);
    const [cw] = of('close-wait');
    expect(groups(cw!)).toEqual(expected(clients));
    expect(cw!.message).toContain('no LISTEN row in the data');
    // the same verdict as with the LISTEN row present
    const withListen = (await analyzeText(full)).of('close-wait');
    expect(groups(withListen[0]!)).toEqual(groups(cw!));
  });

  it('netstat -tan | grep CLOSE_WAIT (no owner, no header, no LISTEN): pid null, grouped on the listener', async () => {
    const text = read('netstat-tan.txt').split('\n').filter((l) => l.includes('CLOSE_WAIT')).join('\n');
    const clients = clientsOf(text, /CLOSE_WAIT/);
    const { of } = await analyzeText(text);
    expect(of('close-wait').map((f) => [f.pid, f.count, groups(f)])).toEqual([[null, total(clients), expected(clients)]]);
  });

  it('the clients\' ends (distinct local ports to one server port) are never taken for a listener', async () => {
    const { capture, of } = await analyzeText(read('netstat-tan.txt'));
    const clientEnds = capture.snapshot.sockets.filter((s) => s.state === 'FIN_WAIT2');
    expect(clientEnds.length).toBeGreaterThanOrEqual(10);
    // The local ports of the rows that are listeners by their shape, asked port by port.
    const listeners = (rows: typeof clientEnds): number[] => {
      const isListener = inferredListenPort(rows, 3, null);
      return [...new Set(rows.map((s) => s.local?.port))].filter((p): p is number => isListener(p));
    };
    expect(listeners(clientEnds)).toEqual([]);
    expect(listeners(capture.snapshot.sockets)).toEqual([47110]);
    // fin-wait2 groups them on the peer they churn against
    expect(of('fin-wait2')[0]!.evidence.map((e) => [e.peer, e.count])).toEqual([['127.0.0.1:47110', clientEnds.length]]);
  });
});
