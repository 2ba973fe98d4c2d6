import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLsofProtocols, parseXattrLines, startProtocolHelper } from '../../src/live/socket-protocols.js';
import { startScenario, stopAll } from '../helpers/netns.js';

afterAll(stopAll);

describe('orphan socket protocols, from the helper programs\' output', () => {
  it('reads "<fd> <protocol>" lines and nothing else', () => {
    const out = parseXattrLines('3 TCP\n4 UDP\n5 TCPv6\nbogus line\n6 \u001b[2J\n7 UNIX\n');
    expect([...out]).toEqual([[3, 'TCP'], [4, 'UDP'], [5, 'TCPv6'], [7, 'UNIX']]);
  });

  it('reads lsof -F fn records', () => {
    const out = parseLsofProtocols('p42\nf3\nnprotocol: TCP\nf4\nnsocket\nf5\nnprotocol: UDPv6\n');
    expect([...out]).toEqual([[3, 'TCP'], [5, 'UDPv6']]);
  });
});

/** Pids of this process's children now (every thread's). */
function children(): Set<number> {
  const pids = new Set<number>();
  for (const tid of readdirSync('/proc/self/task')) {
    for (const pid of readFileSync(`/proc/self/task/${tid}/children`, 'latin1').trim().split(/\s+/)) if (pid !== '') pids.add(Number(pid));
  }
  return pids;
}

describe('startProtocolHelper', () => {
  it('answers from the line it is given, before its stdin ends (which waits for the event loop\'s next turn)', async (ctx) => {
    const s = await startScenario('unbound-sockets.py', ['--tcp=3', '--udp=2', '--tcp6=1']);
    const before = children();
    const helper = await startProtocolHelper(s.pid);
    if (helper === undefined) ctx.skip('python3 is not installed');
    const python = [...children()].filter((pid) => !before.has(pid));
    expect(python).toHaveLength(1);
    const fds = s.ready.fds as Record<string, number[]>;
    const answer = helper!.ask(Object.values(fds).flat());
    // Without a turn of the event loop (the end of its stdin is not sent meanwhile), it answers and
    // exits: a zombie nobody reaped yet. Busy-waiting here is what the main thread parsing does.
    const state = (): string => readFileSync(`/proc/${python[0]}/stat`, 'latin1').replace(/^.*\) /s, '')[0]!;
    const deadline = Date.now() + 10_000;
    while (state() !== 'Z' && Date.now() < deadline) { /* busy, as the parse is */ }
    expect(state()).toBe('Z');
    const expected = new Map(Object.entries(fds).flatMap(([proto, list]) => list.map((fd): [number, string] => [fd, proto])));
    expect(await answer).toEqual(expected);
  });
});
