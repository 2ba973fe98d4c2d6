/**
 * The live diagnose reader's snapshot is assembled without zod (model/live-snapshot.ts, issue 14):
 * this shows, on real leaky processes holding every kind of fd and socket row
 * the reader builds (tcp in each state, udp, unix, never-bound sockets, rows of another process
 * opposite its half-closed ones, pipes, files, deleted files, inotify, eventfd, epoll), that each
 * record is one zod would have handed back unchanged: it passes the schemas, and as-is.ts (exact
 * keys, schema order), and that the whole snapshot (process, namespace, host, coverage records too)
 * passes SnapshotSchema and serialises byte for byte as the checked path's copy (key order
 * included). So the snapshot is the one the checked path builds from the same records.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import { fdAsIs, socketAsIs } from '../../src/model/as-is.js';
import { FdSchema } from '../../src/model/fd.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { buildSnapshot, SnapshotSchema } from '../../src/model/snapshot.js';
import { SocketSchema } from '../../src/model/socket.js';
import { startScenario, stopAll } from '../helpers/netns.js';

afterAll(stopAll);

/** The records of `snapshot` that zod would not hand back as they are (none is expected). */
function untyped(snapshot: Snapshot): unknown[] {
  return [
    ...snapshot.fds.filter((f) => !fdAsIs(f) || !FdSchema.safeParse(f).success),
    ...snapshot.sockets.filter((s) => !socketAsIs(s) || !SocketSchema.safeParse(s).success),
  ];
}

/** The snapshot the checked path (every record through as-is.ts or zod) builds from the same input. */
function checked(snapshot: Snapshot): Snapshot {
  const { schema: _schema, ...input } = snapshot;
  return buildSnapshot(input);
}

/** What zod and JSON output would see differently from the checked path: nothing is expected. */
function expectAsChecked(snapshot: Snapshot): void {
  expect(untyped(snapshot)).toEqual([]);
  expect(SnapshotSchema.safeParse(snapshot).success).toBe(true);
  expect(checked(snapshot)).toEqual(snapshot);
  expect(JSON.stringify(snapshot)).toBe(JSON.stringify(checked(snapshot))); // key order too
}

describe('live diagnose snapshots are typed (assembled without zod)', () => {
  it('sockets of every kind, their other halves held by another process', async () => {
    const mix = await startScenario('socket-mix.py', ['--pairs=10', '--client-cw=5', '--server-cw=5', '--half=4', '--unbound=5']);
    const half = await startScenario('half-close-client.mjs', ['--port=0', '--connections=6']);
    for (const pid of [mix.pid, half.pid]) {
      const snapshot = await collectLiveProcess(pid);
      const kinds = new Set(snapshot.fds.map((f) => f.kind));
      expect(kinds.has('socket')).toBe(true);
      expect(snapshot.sockets.length).toBeGreaterThan(4);
      expectAsChecked(snapshot);
    }
    // The half-closed client's rows include its server's (another process): owners of others.
    const snapshot = await collectLiveProcess(half.pid);
    expect(snapshot.sockets.some((s) => s.owners.some((o) => o.pid !== half.pid))).toBe(true);
  });

  it('files, deleted files, pipes, inotify, eventfd, epoll (fd details added)', async () => {
    const kinds = await startScenario('kinds.py', ['--deleted=3', '--deleted-size=1000', '--repeat=3', '--inotify=2', '--watches=2', '--eventfd=2', '--epoll=2', '--files=3']);
    const snapshot = await collectLiveProcess(kinds.pid);
    expect(snapshot.fds.filter((f) => f.deleted === true).length).toBeGreaterThanOrEqual(3);
    expect(snapshot.fds.filter((f) => f.anonType === 'inotify').length).toBeGreaterThanOrEqual(2);
    expectAsChecked(snapshot);
  });
});
