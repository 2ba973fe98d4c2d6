/**
 * buildSnapshot with socket records checked ahead (checkSocketsAhead): the answer for the same array
 * is taken as it is, a failure found ahead is thrown by buildSnapshot in its own order, and an answer
 * for another array is ignored.
 */
import { describe, expect, it } from 'vitest';
import { buildSnapshot, checkSocketsAhead, UNKNOWN_SYSCTLS } from '../../src/model/snapshot.js';
import type { SnapshotInput } from '../../src/model/snapshot.js';
import type { Socket } from '../../src/model/socket.js';
import type { Fd } from '../../src/model/fd.js';

const socket = (inode: string): Socket => ({
  proto: 'tcp', family: 'inet', state: 'CLOSE_WAIT', detail: null,
  local: { address: '127.0.0.1', port: 8080 }, remote: { address: '127.0.0.1', port: 51234 },
  rxQueue: 1, txQueue: 0, backlog: null, uid: 0, inode,
  owners: [{ pid: 42, fd: 7, command: 'python3' }], netns: 'net:[4026531840]',
  origin: { source: '/proc/42/net/tcp', line: 3 },
});
const fd = (n: number): Fd => ({ pid: 42, fd: n, kind: 'socket', inode: '438448', target: 'socket:[438448]', hint: null, origin: { source: '/proc/42/fd', line: 0 } });

function input(fds: Fd[], sockets: Socket[]): SnapshotInput {
  return {
    takenAt: '2026-01-01T00:00:00.000Z', kind: 'live', processes: [], fds, sockets,
    namespaces: [{ id: 'net:[4026531840]', tables: ['tcp'], sysctls: UNKNOWN_SYSCTLS, backlogKnown: false }],
    host: { fileNr: null, nrOpen: null },
    coverage: { fdTables: true, socketTables: true, netnsAware: true, limits: false, sysctls: false, ownerlessRows: true },
    warnings: [],
  };
}

/** The message buildSnapshot throws for `data`, or null. */
function thrown(build: () => unknown): string | null {
  try {
    build();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('buildSnapshot with sockets checked ahead', () => {
  it('takes the answer for the same array: records checked ahead are not checked again', () => {
    const sockets = [socket('1'), socket('2')];
    const ahead = checkSocketsAhead(sockets);
    expect(ahead.checked).toEqual(sockets);
    // Bent after the check: a fresh check would refuse it, the answer given ahead is what counts.
    (sockets[1] as { inode: unknown }).inode = 'not digits';
    expect(thrown(() => buildSnapshot(input([fd(3)], sockets)))).toMatch(/inode/);
    const snapshot = buildSnapshot(input([fd(3)], sockets), { sockets: ahead });
    expect(snapshot.sockets[0]).toBe(sockets[0]);
    expect(snapshot.sockets).toHaveLength(2);
  });

  it('ignores an answer for another array', () => {
    const good = [socket('1')];
    const bad = [socket('x')];
    const message = thrown(() => buildSnapshot(input([], bad)));
    expect(message).toMatch(/inode/);
    expect(thrown(() => buildSnapshot(input([], bad), { sockets: checkSocketsAhead(good) }))).toBe(message);
  });

  it('a failure found ahead is thrown by buildSnapshot, in its order (fds before sockets)', () => {
    const bad = [socket('1'), socket('x')];
    const ahead = checkSocketsAhead(bad);
    expect(ahead.checked).toBeUndefined();
    const alone = thrown(() => buildSnapshot(input([fd(3)], bad)));
    expect(alone).toMatch(/inode/);
    expect(thrown(() => buildSnapshot(input([fd(3)], bad), { sockets: ahead }))).toBe(alone);
    const badFd = { ...fd(4), fd: -1 };
    const both = thrown(() => buildSnapshot(input([badFd], bad)));
    expect(both).toMatch(/invalid fd:/);
    expect(thrown(() => buildSnapshot(input([badFd], bad), { sockets: ahead }))).toBe(both);
  });
});
