/**
 * The prefetch starts its second thread only when a core is free for it: runningElsewhere counts
 * what else is runnable. (How it reads argv is options.ts's parseArgv: test/cli/options.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { runningElsewhere } from '../../src/cli/prefetch.js';

describe('runningElsewhere', () => {
  const root = mkdtempSync(join(tmpdir(), 'fdleak-loadavg-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** A /proc with loadavg and fdleak's own threads (R: running, S: sleeping). */
  const proc = (loadavg: string, states: string[]): string => {
    const dir = mkdtempSync(join(root, 'proc-'));
    writeFileSync(join(dir, 'loadavg'), loadavg);
    states.forEach((state, i) => {
      mkdirSync(join(dir, 'self', 'task', String(100 + i)), { recursive: true });
      writeFileSync(join(dir, 'self', 'task', String(100 + i), 'stat'), `${100 + i} (node (x)) ${state} 1 100 100 0 -1`);
    });
    return dir;
  };

  it('counts runnable tasks that are not fdleak\'s own threads', () => {
    expect(runningElsewhere(proc('1.70 1.59 1.31 1/242 8014\n', ['R', 'S', 'S']))).toBe(0);
    expect(runningElsewhere(proc('0.20 0.10 0.05 3/242 8014\n', ['R', 'S']))).toBe(2);
    expect(runningElsewhere(proc('0.20 0.10 0.05 3/242 8014\n', ['R', 'R', 'S']))).toBe(1);
  });

  it('says nothing where /proc does not', () => {
    expect(runningElsewhere(proc('garbage\n', ['R']))).toBeUndefined();
    expect(runningElsewhere(join(root, 'nope'))).toBeUndefined();
  });
});
