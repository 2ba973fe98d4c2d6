/**
 * bin/fdleak.js guesses `diagnose <pid>` from argv before commander is loaded, to start reading the
 * process early, and `scan` to start its helper thread. A wrong guess only wastes that work (the collector uses it only for the pid and
 * --proc-root commander parsed), so it must recognise the usual forms and give up on the rest.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { diagnoseTarget, isScan, runningElsewhere } from '../../src/cli/prefetch.js';

describe('diagnoseTarget', () => {
  it('finds the pid and --proc-root wherever the options are', () => {
    expect(diagnoseTarget(['diagnose', '4113'])).toEqual({ pid: 4113, procRoot: '/proc' });
    expect(diagnoseTarget(['--debug', 'diagnose', '--json', '4113'])).toEqual({ pid: 4113, procRoot: '/proc' });
    expect(diagnoseTarget(['diagnose', '--fail-on', 'critical', '4113', '--json'])).toEqual({ pid: 4113, procRoot: '/proc' });
    expect(diagnoseTarget(['diagnose', '11400', '--proc-root', 'fixtures/x'])).toEqual({ pid: 11400, procRoot: 'fixtures/x' });
    expect(diagnoseTarget(['diagnose', '--proc-root=/tmp/p', '7'])).toEqual({ pid: 7, procRoot: '/tmp/p' });
  });

  it('gives up on anything else', () => {
    for (const argv of [[], ['--version'], ['scan'], ['rules'], ['analyze', 'diagnose'], ['diagnose'], ['diagnose', 'abc'],
      ['diagnose', '0'], ['diagnose', '1', '2'], ['--help', 'diagnose', '1'], ['diagnose', '--fail-on', '12']]) {
      expect(diagnoseTarget(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

describe('isScan', () => {
  it('recognises scan with its options, and nothing else', () => {
    for (const argv of [['scan'], ['--debug', 'scan'], ['scan', '--json', '--top', '5'], ['scan', '--sort', 'orphans']]) {
      expect(isScan(argv), argv.join(' ')).toBe(true);
    }
    for (const argv of [[], ['analyze', 'scan'], ['diagnose', '1'], ['scan', '--help'], ['--help', 'scan'], ['rules']]) {
      expect(isScan(argv), argv.join(' ')).toBe(false);
    }
  });
});

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
