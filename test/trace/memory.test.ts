/**
 * Bounded memory of the trace pipeline (issue 13 point 5, in-process half): a real capture of a
 * process opening and closing /dev/null (fixtures/strace/churn-attach.txt, ~400 open/close pairs)
 * replayed 300 times = ~120,000 pairs (~24 s of a 5,000 fds/s process) through the same
 * StraceReader + FdTracker as `fdleak trace`. The heap after a full GC must not grow between the
 * 30th replay and the 300th. (The live half is test/acceptance/trace-memory.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { StraceReader } from '../../src/parse/strace.js';
import { CREATORS, FdTracker } from '../../src/trace/fd-tracker.js';
import { FIXTURES } from './replay.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('trace memory', () => {
  it('stays flat over ~120,000 open/close pairs', () => {
    const lines = readFileSync(`${FIXTURES}churn-attach.txt`, 'utf8').split('\n');
    const tracker = new FdTracker();
    const reader = new StraceReader((e) => tracker.apply(e), (n) => CREATORS.has(n));
    let early = 0;
    let once = 0;
    for (let t = 1; t <= 300; t++) {
      for (const l of lines) reader.push(l);
      if (t === 1) once = [...tracker.stackRecords()].reduce((n, s) => n + s.opened, 0);
      if (t === 30) { gc(); early = process.memoryUsage().heapUsed; }
    }
    reader.end();
    gc();
    const late = process.memoryUsage().heapUsed;
    const opened = [...tracker.stackRecords()].reduce((n, s) => n + s.opened, 0);
    expect(once).toBeGreaterThan(300);
    expect(opened).toBe(300 * once);
    expect(tracker.heldFds()).toBeLessThanOrEqual(1);
    expect(late - early).toBeLessThan(1 << 20); // < 1 MiB over 270 more replays
  });
});
