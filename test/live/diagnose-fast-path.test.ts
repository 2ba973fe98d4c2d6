/**
 * diagnose's speed tricks against the plain path, on live processes (issue 14): rows passed over on
 * their st and inode columns without being cut out of the text (parseProcNetInet's keep), the other
 * halves looked for among the rows diagnose already parsed in its one pass, and the orphan protocol helper running while
 * the rest is read. Each must give what the plain path gives at the same moment: the full parse of
 * the same text, filtered afterwards, and what /proc (test/helpers/proc.ts) and ss say.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { collectLiveProcess, readNetTables } from '../../src/live/diagnose.js';
import type { NetTexts } from '../../src/live/threads/proc-pid-worker.js';
import { NET_TABLE_FILES } from '../../src/live/threads/proc-pid-worker.js';
import { readOtherHalves } from '../../src/live/other-halves.js';
import { HALF_CLOSED_CODES } from '../../src/live/own-rows.js';
import { orphanSocketFds } from '../../src/model/queries.js';
import type { Socket } from '../../src/model/socket.js';
import { parseProcNetInet } from '../../src/parse/proc-net-inet.js';
import { startScenario, stopAll } from '../helpers/netns.js';
import { socketFds, ssTcp, tableInodes } from '../helpers/proc.js';

afterAll(stopAll);

const text = (s: Socket): string => `${s.state} ${s.local?.address}:${s.local?.port} ${s.remote?.address}:${s.remote?.port} ${s.inode}`;

/**
 * A client holding 12 half-closed connections to a server of its own (the server's CLOSE_WAIT).
 * On a loaded machine the server may not have accept()ed every connection yet when the client says
 * ready (the unaccepted ones show inode 0): this waits until it holds all 12.
 */
async function halfClosed() {
  const s = await startScenario('half-close-client.mjs', ['--port=0', '--connections=12']);
  const server = Number(s.ready.serverPid);
  for (let t = 0; t < 100; t++) {
    const held = ssTcp(s.pid).filter((r) => r.state === 'CLOSE-WAIT' && r.pids.includes(server));
    if (held.length >= 12) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { s, server };
}

describe('diagnose fast path = plain path, on a live process', () => {
  it('keep(inode, st) gives the rows of a full parse of the same text, filtered', async () => {
    const { s, server } = await halfClosed();
    const mine = socketFds(s.pid);
    const path = `/proc/${s.pid}/net/tcp`;
    const tcp = readFileSync(path, 'latin1'); // one reading: both paths see the same moment
    const all = parseProcNetInet(tcp, path, 'tcp');
    expect(all.length).toBeGreaterThan(24); // 12 FIN_WAIT2, 12 CLOSE_WAIT, the listener
    // The keep of a diagnosis (own rows and inode 0), then the one of the other halves (a state).
    const own = (inode: string): boolean => inode === '0' || mine.has(inode);
    expect(parseProcNetInet(tcp, path, 'tcp', null, undefined, undefined, own)).toEqual(all.filter((r) => own(r.inode!)));
    const closeWait = (inode: string, st: string): boolean => !mine.has(inode) && st === '08';
    const theirs = parseProcNetInet(tcp, path, 'tcp', null, undefined, undefined, closeWait);
    expect(theirs).toEqual(all.filter((r) => !mine.has(r.inode!) && r.state === 'CLOSE_WAIT'));
    const serverFds = socketFds(server);
    expect(theirs.every((r) => serverFds.has(r.inode!))).toBe(true);
    expect(theirs).toHaveLength(12);
  });

  it('the other halves from the text already read are those read again, and those ss shows', async () => {
    const { s, server } = await halfClosed();
    const mine = socketFds(s.pid);
    const netns = s.netns;
    // diagnose's keep: its own rows, inode 0, and the half-closed rows of others (the candidates).
    const { sockets: rows } = readNetTables(`/proc/${s.pid}/net`, netns, {
      inet: (inode, st) => inode === '0' || mine.has(inode) || HALF_CLOSED_CODES.has(st),
      other: (inode) => inode === '0' || mine.has(inode),
    });
    const own = rows.filter((r) => r.inode === '0' || mine.has(r.inode!));
    for (const r of own) if (mine.has(r.inode!)) r.owners.push({ pid: s.pid, fd: mine.get(r.inode!)!, command: 'node' });
    const candidates = rows.filter((r) => !own.includes(r));
    expect(candidates.length).toBeGreaterThanOrEqual(12);
    expect(candidates.every((r) => r.state === 'CLOSE_WAIT' || r.state === 'FIN_WAIT2')).toBe(true);
    const fromRead = readOtherHalves('/proc', s.pid, netns, own, candidates);
    const readAgain = readOtherHalves('/proc', s.pid, netns, own);
    expect(fromRead.map(text).sort()).toEqual(readAgain.map(text).sort());
    // ss: the server's CLOSE_WAIT sockets, by inode, with the server as owner.
    const ss = ssTcp(s.pid).filter((r) => r.state === 'CLOSE-WAIT');
    expect(fromRead.map((r) => r.inode).sort()).toEqual(ss.map((r) => r.inode).sort());
    expect(ss.every((r) => r.pids.includes(server))).toBe(true);
    expect(fromRead.every((r) => r.owners.some((o) => o.pid === server))).toBe(true);
    expect(fromRead).toHaveLength(12);
  });

  it.each([false, true])('the orphan protocols, asked while the rest is read, are on the fds of the snapshot (python3 started before reading: %s)', async (earlyProtocols) => {
    const s = await startScenario('unbound-sockets.py', ['--tcp=5', '--udp=3', '--tcp6=2']);
    const snapshot = await collectLiveProcess(s.pid, { backlog: false, earlyProtocols });
    const inTables = tableInodes(s.pid);
    const orphans = snapshot.fds.filter((f) => f.kind === 'socket' && !inTables.has(f.inode!));
    expect(orphans).toHaveLength(10);
    // As many of each protocol as the leaker made: the helper's answers reached the fds.
    const hints = Object.fromEntries(orphans.map((f) => [f.fd, f.hint]));
    const counted = Object.values(hints).reduce<Record<string, number>>((n, h) => ({ ...n, [String(h)]: (n[String(h)] ?? 0) + 1 }), {});
    expect(counted).toEqual({ TCP: 5, UDP: 3, TCPv6: 2 });
  });

  it('the orphan index the rules get from a live snapshot is the reader\'s verdicts: /proc\'s, and what the rows give', async () => {
    const s = await startScenario('socket-mix.py', ['--pairs=10', '--client-cw=5', '--server-cw=5', '--half=4', '--unbound=5']);
    const snapshot = await collectLiveProcess(s.pid, { backlog: false });
    // The reader's (queries.ts knownOrphans): asked with the rows taken away, the index is the same;
    // built from no rows, every socket fd would be an orphan.
    const rows = snapshot.sockets;
    snapshot.sockets = [];
    const found = orphanSocketFds(snapshot).get(s.pid);
    snapshot.sockets = rows;
    const inTables = tableInodes(s.pid);
    const truth = snapshot.fds.filter((f) => f.kind === 'socket' && !inTables.has(f.inode!)).map((f) => f.fd);
    expect(truth).toHaveLength(5);
    expect([...found!.byHint.values()].flat().sort((a, b) => a - b)).toEqual(truth);
    // The index built from the rows (a copy of the snapshot: no index given) is the same, hints and all.
    expect(orphanSocketFds({ ...snapshot })).toEqual(orphanSocketFds(snapshot));
    expect([...found!.byHint.keys()].every((hint) => hint !== 'unknown')).toBe(true); // the helper named them
  });
});

describe('readNetTables tells the kept inodes before the inet rows are parsed (judged)', () => {
  const fixtureText = (name: string): string => readFileSync(new URL(`../../fixtures/proc-net/${name}`, import.meta.url), 'latin1');
  /** Tables as the worker hands them over: every name present (null: no such table). */
  const textsOf = (tcp: string): NetTexts => new Map<string, string | null>([
    ...NET_TABLE_FILES.map((name): [string, string | null] => [name, null]),
    ['tcp', tcp], ['tcp6', fixtureText('tcp6.txt')], ['udp', fixtureText('udp.txt')], ['unix', fixtureText('unix.txt')],
  ]);
  const full = readNetTables('/nonexistent', null, undefined, textsOf(fixtureText('tcp.txt')));
  const wanted = new Set(full.sockets.filter((_, i) => i % 3 === 0).map((s) => s.inode!));
  const keep = { inet: (inode: string) => wanted.has(inode), other: (inode: string) => wanted.has(inode) };

  it('once, with the inodes of the rows kept; the same rows and tables as without it', () => {
    const calls: string[][] = [];
    const texts = textsOf(fixtureText('tcp.txt'));
    const two = readNetTables('/nonexistent', null, keep, texts, (kept) => calls.push(kept));
    expect(two).toEqual(readNetTables('/nonexistent', null, keep, texts));
    expect(two.sockets.length).toBeGreaterThan(5);
    expect(two.sockets.length).toBeLessThan(full.sockets.length);
    expect(calls).toHaveLength(1);
    expect(new Set(calls[0])).toEqual(new Set(two.sockets.map((s) => s.inode)));
  });

  it('before the inet rows are parsed: a damaged kept row throws after it was called', () => {
    // Row 10 of tcp.txt (inode 635119) kept, its state damaged: the parse of the kept rows throws.
    const lines = fixtureText('tcp.txt').split('\n');
    lines[9] = lines[9]!.replace(' 0A ', ' ZZ ');
    const calls: string[][] = [];
    const damagedKeep = { ...keep, inet: (inode: string) => inode === '635119' || wanted.has(inode) };
    expect(() => readNetTables('/nonexistent', null, damagedKeep, textsOf(lines.join('\n')), (kept) => calls.push(kept))).toThrow('expected state as 2 hex digits');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain('635119');
  });

  it('after the parse where a row could not be judged on its columns (a blank line)', () => {
    const lines = fixtureText('tcp.txt').split('\n');
    lines.splice(5, 0, '');
    const calls: string[][] = [];
    const texts = textsOf(lines.join('\n'));
    const two = readNetTables('/nonexistent', null, keep, texts, (kept) => calls.push(kept));
    expect(two).toEqual(readNetTables('/nonexistent', null, keep, texts));
    expect(calls).toEqual([two.sockets.map((s) => s.inode)]);
    // Damaged as above: the parse throws before the inodes are known, so it is never called.
    const damaged = lines.map((line) => (line.includes(' 635119 ') ? line.replace(' 0A ', ' ZZ ') : line));
    const late: string[][] = [];
    expect(() => readNetTables('/nonexistent', null, { ...keep, inet: () => true }, textsOf(damaged.join('\n')), (kept) => late.push(kept))).toThrow('expected state');
    expect(late).toEqual([]);
  });
});
