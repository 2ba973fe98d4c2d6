/**
 * bin/fdleak.js guesses `diagnose <pid>` from argv before commander is loaded, to start reading the
 * process early. A wrong guess only wastes that read (the collector uses it only for the pid and
 * --proc-root commander parsed), so it must recognise the usual forms and give up on the rest.
 */
import { describe, expect, it } from 'vitest';
import { diagnoseTarget } from '../../src/cli/prefetch.js';

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
