/**
 * analyze on text as people paste it: the real captures of one incident (fixtures/pasted: a server
 * holding 30 CLOSE_WAIT connections, 17 from 127.0.0.2 and 13 from 127.0.0.3, on its listener
 * :47110) reshaped the way they reach a ticket. Each must still find that incident, with that count,
 * and say in `input` what was assumed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import type { Assumptions } from '../../src/capture/capture.js';
import type { LineStream } from '../../src/capture/text-input.js';
import { openLines } from '../../src/capture/text-input.js';
import { runRules } from '../../src/rules/engine.js';
import { Readable } from 'node:stream';
import { ROOT } from '../helpers/cli.js';

const read = (name: string): string => readFileSync(join(ROOT, 'fixtures/pasted', name), 'latin1');
/** The server's pid, as the capture itself says it (ss's users:(...)). */
const PID = Number(/pid=(\d+)/.exec(read('ss-state-close-wait.txt'))![1]);
/** The scenario: 30 connections the server never closed. */
const CLOSE_WAIT = 30;

async function analyzeText(text: string, assume: Assumptions = {}) {
  const stream: LineStream = await openLines('-', Readable.from([Buffer.from(text, 'latin1')]));
  const capture = await analyzeCapture([stream], undefined, '2026-12-03T00:00:00.000Z', assume);
  const { findings } = runRules(capture.snapshot);
  return { capture, findings, closeWait: findings.filter((f) => f.rule === 'close-wait').map((f) => [f.pid, f.count]) };
}

const fence = (body: string): string => `Our server stopped answering, here is what I got:\n\n\`\`\`\n${body}\`\`\`\n\nAny idea? Thanks!\n`;
const indent = (body: string, by = '    '): string => body.split('\n').map((l) => (l === '' ? l : by + l)).join('\n');

describe('pasted captures: each finds the incident with its exact count', () => {
  it('as captured (the reference)', async () => {
    for (const name of ['lsof-p.txt', 'lsof-F.txt', 'ss-tanp.txt', 'netstat-tanp.txt']) {
      const { closeWait, capture } = await analyzeText(read(name));
      expect(closeWait, name).toEqual([[PID, CLOSE_WAIT]]);
      expect(capture.inputs[0]!.assumed, name).toEqual([]);
    }
  });

  it('lsof without its header (lsof -nP -p PID | grep TCP): rows read by their shape', async () => {
    const text = read('lsof-p.txt').split('\n').filter((l) => l.includes('TCP')).join('\n');
    expect(text).not.toMatch(/^COMMAND/m);
    const { closeWait, capture } = await analyzeText(text);
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
    expect(capture.inputs[0]!.assumed).toEqual(['no lsof header (COMMAND PID ...): rows read by their shape']);
  });

  it('lsof indented as a Markdown code block under a shell prompt', async () => {
    const text = indent(`root@web1:~# lsof -nP -p ${PID}\n${read('lsof-p.txt')}`);
    const { closeWait, capture } = await analyzeText(text);
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
    expect(capture.inputs[0]!.assumed).toEqual(['the 4-character indentation was taken off', 'shell prompt lines were passed over']);
  });

  it('ss -tanp in a fence with prose before and after', async () => {
    const { closeWait, capture } = await analyzeText(fence(read('ss-tanp.txt')));
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
    expect(capture.inputs[0]!.assumed).toEqual(['only the lines inside Markdown fences (```) were read']);
    expect(capture.inputs[0]!.skipped).toBe(0);
  });

  it('netstat -tanp quoted with "> " (an e-mail reply)', async () => {
    const text = read('netstat-tanp.txt').split('\n').map((l) => `> ${l}`).join('\n');
    const { closeWait, capture } = await analyzeText(text);
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
    expect(capture.inputs[0]!.assumed).toEqual(['the "> " quote marks were taken off']);
  });

  it('netstat -tanp saved with CRLF line ends', async () => {
    const { closeWait } = await analyzeText(read('netstat-tanp.txt').replace(/\n/g, '\r\n'));
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
  });

  it('ss -tnp state close-wait (no State column), its command line on top', async () => {
    const bare = await analyzeText(read('ss-state-close-wait.txt'));
    expect(bare.closeWait).toEqual([]); // the rows alone do not say their state
    const { closeWait, capture } = await analyzeText(`$ ss -tnp state close-wait\n${read('ss-state-close-wait.txt')}`);
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
    expect(capture.inputs[0]!.assumed).toEqual(['rows without a state are CLOSE_WAIT (the ss command line at line 1 filters on it)']);
  });

  it('ss -tnp state close-wait without its command line, and --state close-wait', async () => {
    const { closeWait, capture } = await analyzeText(read('ss-state-close-wait.txt'), { state: 'CLOSE_WAIT' });
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
    expect(capture.inputs[0]!.assumed).toEqual(['rows without a state are CLOSE_WAIT (--state)']);
  });

  it('netstat -tanp in German (net-tools 2.10: "Aktive Internetverbindungen", ESTABLISHED is VERBUNDEN)', async () => {
    const text = read('netstat-tanp-de.txt');
    expect(text).toMatch(/VERBUNDEN/);
    const { closeWait, capture } = await analyzeText(text);
    expect(closeWait).toEqual([[PID, CLOSE_WAIT]]);
    expect(capture.inputs[0]!.skipped).toBe(0);
    expect(capture.snapshot.sockets.filter((s) => s.state === 'ESTABLISHED')).toHaveLength(2);
  });

  it('a state word of another language net-tools does not translate names the fix', async () => {
    const text = read('netstat-tanp.txt').replace(/CLOSE_WAIT/g, 'SCHLIESSEN_WARTEN');
    await expect(analyzeText(text)).rejects.toThrow(/unknown TCP state "SCHLIESSEN_WARTEN" \(netstat in another language\? capture it as LC_ALL=C netstat/);
  });
});
