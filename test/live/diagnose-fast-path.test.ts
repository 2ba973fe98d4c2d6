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
import { HALF_CLOSED_CODES, readOtherHalves } from '../../src/live/other-halves.js';
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
});
