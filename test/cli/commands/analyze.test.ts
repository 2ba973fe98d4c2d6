/** analyze's options for what captured text cannot say: checked, and carried into the snapshot. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../../src/capture/capture.js';
import { openLines } from '../../../src/capture/text-input.js';
import { parseAssumptions } from '../../../src/cli/commands/analyze.js';
import { InputError } from '../../../src/errors.js';

describe('analyze --state, --port-range, --fd-limit, --somaxconn', () => {
  it('reads each value in the forms users write', () => {
    expect(parseAssumptions({ state: 'close-wait', portRange: '32768-60999', fdLimit: '1024', somaxconn: '4096' }))
      .toEqual({ state: 'CLOSE_WAIT', portRange: [32768, 60999], fdLimit: 1024, somaxconn: 4096 });
    for (const s of ['CLOSE_WAIT', 'CLOSE-WAIT', 'close_wait']) expect(parseAssumptions({ state: s }).state).toBe('CLOSE_WAIT');
    expect(parseAssumptions({ state: 'fin-wait-2' }).state).toBe('FIN_WAIT2');
    expect(parseAssumptions({ state: 'established' }).state).toBe('ESTABLISHED');
  });

  it('a bad value is one line naming the option', () => {
    const cases: Array<[Parameters<typeof parseAssumptions>[0], RegExp]> = [
      [{ state: 'closing-soon' }, /^analyze: --state: expected a TCP state/],
      [{ portRange: '60999-32768' }, /^analyze: --port-range: expected LOW-HIGH/],
      [{ portRange: '1-70000' }, /^analyze: --port-range: expected LOW-HIGH/],
      [{ fdLimit: '0' }, /^analyze: --fd-limit: expected a positive whole number/],
      [{ somaxconn: 'lots' }, /^analyze: --somaxconn: expected a positive whole number/],
    ];
    for (const [opts, message] of cases) {
      let error: unknown;
      try { parseAssumptions(opts); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).message).toMatch(message);
    }
  });

  it('the snapshot carries them: sysctls and fd limits known, and the report says they were given', async () => {
    const text = 'COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\nsrv 42 root 3u IPv4 1001 0t0 TCP 127.0.0.1:80 (LISTEN)\n';
    const stream = await openLines('-', Readable.from([Buffer.from(text)]));
    const capture = await analyzeCapture([stream], undefined, '2026-12-03T00:00:00.000Z', { portRange: [32768, 60999], fdLimit: 1024, somaxconn: 4096 });
    expect(capture.snapshot.namespaces[0]!.sysctls).toMatchObject({ ipLocalPortRange: [32768, 60999], somaxconn: 4096 });
    expect(capture.snapshot.processes.map((p) => p.fdLimit)).toEqual([{ soft: 1024, hard: 1024 }]);
    expect(capture.snapshot.coverage).toMatchObject({ limits: true, sysctls: true });
    expect(capture.assumed).toEqual([
      'ip_local_port_range 32768-60999 (--port-range)', "every process's fd limit is 1024 (--fd-limit)", 'net.core.somaxconn 4096 (--somaxconn)',
    ]);
  });
});
