/**
 * Groups of a live process's fds, checked against what /proc says (the test's own reading): files by
 * path, anon inodes by type, pipes, and sockets by state and peer or listener.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import { groupsOf, SeriesRecorder } from '../../src/model/sample.js';
import { fdTargets } from '../helpers/proc.js';
import { startScenario, stopAll } from '../helpers/netns.js';

afterAll(stopAll);

describe('fd groups', () => {
  it('a busy node server with keep-alive clients: groups as /proc and its ready line say', async () => {
    const s = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=4']);
    const snapshot = await collectLiveProcess(s.pid);
    const targets = [...fdTargets(s.pid).values()];
    await s.stop();
    const groups = new Map([...groupsOf(snapshot, s.pid)].map(([label, g]) => [label, g.n]));
    const count = (test: (t: string) => boolean): number => targets.filter(test).length;
    for (const type of ['eventpoll', 'eventfd']) {
      expect(groups.get(type), type).toBe(count((t) => t === `anon_inode:[${type}]`));
    }
    expect(groups.get('pipe')).toBe(count((t) => t.startsWith('pipe:')));
    expect(groups.get('/dev/null')).toBe(count((t) => t === '/dev/null'));
    const port = Number(s.ready.port);
    expect(groups.get(`tcp LISTEN 127.0.0.1:${port}`)).toBe(1);
    expect(groups.get(`tcp ESTABLISHED to 127.0.0.1:${port}`)).toBe(4);
    expect(groups.get(`tcp ESTABLISHED from clients of 127.0.0.1:${port}`)).toBe(4);
    expect(groups.get('udp UNCONN bound to 127.0.0.1')).toBe(1);
    expect([...groups.values()].reduce((a, b) => a + b, 0)).toBe(targets.length);
  });

  it('a recorder keeps each sample\'s figures, and the groups of the first and the latest sample only', async () => {
    const s = await startScenario('steady-leak.py', ['--rate=20', '--log=/dev/null']);
    const recorder = new SeriesRecorder(s.pid, null);
    for (let i = 0; i < 3; i++) {
      const snap = await collectLiveProcess(s.pid);
      recorder.add(snap, snap.processes[0]!);
      await new Promise((r) => setTimeout(r, 300));
    }
    await s.stop();
    expect(recorder.points).toHaveLength(3);
    expect(Object.keys(recorder.points[0]!).sort()).toEqual(['at', 'fds', 'kinds']);
    const pipes = recorder.changes().find((c) => c.group === 'pipe')!;
    expect([pipes.from, pipes.to]).toEqual([recorder.points[0]!.kinds.pipe, recorder.points[2]!.kinds.pipe]);
  });
});
